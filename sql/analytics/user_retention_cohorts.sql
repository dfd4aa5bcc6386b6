-- grain: one row per signup cohort month per month since signup (0 .. latest month with activity)
-- key: cohort_month, months_since_signup
with

cohort_members as (
    select
        user_id,
        date_trunc('month', signup_date)::date as cohort_month
    from core.dim_users
    where signup_date is not null
),

active_months as (
    select distinct
        user_id,
        date_trunc('month', activity_date)::date as activity_month
    from core.fact_daily_user_activity
),

latest_activity as (
    select max(activity_date) as latest_day
    from core.fact_daily_user_activity
),

latest as (
    select
        max(active_months.activity_month) as latest_month,
        max(latest_activity.latest_day) as latest_day
    from active_months
    cross join latest_activity
),

cohort_sizes as (
    select
        cohort_month,
        count(*) as cohort_size
    from cohort_members
    group by cohort_month
),

-- every cohort gets every offset up to the latest month with activity, retained or not
grid as (
    select
        cohort_sizes.cohort_month,
        cohort_sizes.cohort_size,
        offsets.months_since_signup
    from cohort_sizes
    cross join latest
    cross join lateral generate_series(
        0,
        (
            (extract(year from latest.latest_month) - extract(year from cohort_sizes.cohort_month)) * 12
            + extract(month from latest.latest_month) - extract(month from cohort_sizes.cohort_month)
        )::integer
    ) as offsets (months_since_signup)
),

retained as (
    select
        cohort_members.cohort_month,
        (
            (extract(year from active_months.activity_month) - extract(year from cohort_members.cohort_month)) * 12
            + extract(month from active_months.activity_month) - extract(month from cohort_members.cohort_month)
        )::integer
            as months_since_signup,
        count(distinct cohort_members.user_id) as retained_users
    from cohort_members
    inner join active_months on cohort_members.user_id = active_months.user_id
    where active_months.activity_month >= cohort_members.cohort_month
    group by 1, 2
),

final as (
    select
        grid.cohort_month,
        grid.months_since_signup,
        grid.cohort_size::integer as cohort_size,
        coalesce(retained.retained_users, 0)::integer as retained_users,
        round(coalesce(retained.retained_users, 0)::numeric / grid.cohort_size, 6) as retention_rate,
        -- month cohort_month + k is complete when its last day is on or before the latest activity day
        (grid.cohort_month + make_interval(months => grid.months_since_signup + 1) - interval '1 day')::date
        <= latest.latest_day as is_complete
    from grid
    cross join latest
    left join retained
        on
            grid.cohort_month = retained.cohort_month
            and grid.months_since_signup = retained.months_since_signup
)

select * from final
