-- grain: one row per signup cohort month per month since signup (0 .. latest month with activity)
-- key: cohort_month, months_since_signup
with

-- the cohort's members active in each month, as the core layer keeps them (sql/core/agg_user_retention_cohorts.sql)
retained_months as (
    select
        cohort_month,
        activity_month,
        retained_users
    from core.agg_user_retention_cohorts
),

-- the latest day with activity (the activity_date index finds it without a scan)
latest_activity as (
    select max(activity_date) as latest_day
    from core.fact_daily_user_activity
),

latest as (
    select
        date_trunc('month', latest_day)::date as latest_month,
        latest_day
    from latest_activity
),

-- cohort size = the month's signups (core.agg_acquisition_monthly: persons with a signup, by its month)
cohort_sizes as (
    select
        signup_month as cohort_month,
        sum(signups)::bigint as cohort_size
    from core.agg_acquisition_monthly
    group by signup_month
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
        cohort_month,
        (
            (extract(year from activity_month) - extract(year from cohort_month)) * 12
            + extract(month from activity_month) - extract(month from cohort_month)
        )::integer
            as months_since_signup,
        retained_users
    from retained_months
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
