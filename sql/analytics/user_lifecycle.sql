-- grain: one row per period kind (day, week, month) per period, from the first to the latest active one
-- key: period, period_start
with

activity as (
    select
        user_id,
        activity_date
    from core.fact_daily_user_activity
),

latest as (
    select max(activity_date) as latest_activity_day
    from activity
),

kinds as (
    select
        kind.period,
        kind.step
    from (
        values ('day', interval '1 day'), ('week', interval '7 days'), ('month', interval '1 month')
    ) as kind (period, step)
),

-- ISO weeks start on Monday (date_trunc('week') is ISO)
person_periods as (
    select distinct
        kinds.period,
        kinds.step,
        activity.user_id,
        date_trunc(kinds.period, activity.activity_date::timestamp)::date as period_start
    from activity
    cross join kinds
),

-- each person's previous and next active period of the same kind
neighbours as (
    select
        period,
        step,
        user_id,
        period_start,
        lag(period_start) over by_person as previous_start,
        lead(period_start) over by_person as next_start
    from person_periods
    window by_person as (partition by period, user_id order by period_start)
),

active_counts as (
    select
        period,
        period_start,
        count(*) filter (where previous_start is null) as new_users,
        count(*) filter (where previous_start = (period_start - step)::date) as returning_users,
        count(*) filter (where previous_start < (period_start - step)::date) as resurrecting_users
    from neighbours
    group by period, period_start
),

-- active in P and not in P+1: dormant in P+1
dormant_counts as (
    select
        period,
        (period_start + step)::date as period_start,
        count(*) as dormant_users
    from neighbours
    where next_start is distinct from (period_start + step)::date
    group by period, step, period_start
),

bounds as (
    select
        period,
        min(period_start) as first_start,
        max(period_start) as last_start
    from person_periods
    group by period
),

grid as (
    select
        kinds.period,
        starts.period_start::date as period_start,
        (starts.period_start + kinds.step - interval '1 day')::date as period_end
    from bounds
    inner join kinds on bounds.period = kinds.period
    cross join lateral generate_series(
        bounds.first_start::timestamp, bounds.last_start::timestamp, kinds.step
    ) as starts (period_start)
),

final as (
    select
        grid.period,
        grid.period_start,
        (
            coalesce(active_counts.new_users, 0)
            + coalesce(active_counts.returning_users, 0)
            + coalesce(active_counts.resurrecting_users, 0)
        )::integer as active_users,
        coalesce(active_counts.new_users, 0)::integer as new_users,
        coalesce(active_counts.returning_users, 0)::integer as returning_users,
        coalesce(active_counts.resurrecting_users, 0)::integer as resurrecting_users,
        coalesce(dormant_counts.dormant_users, 0)::integer as dormant_users,
        grid.period_end <= latest.latest_activity_day as is_complete
    from grid
    cross join latest
    left join active_counts
        on grid.period = active_counts.period and grid.period_start = active_counts.period_start
    left join dormant_counts
        on grid.period = dormant_counts.period and grid.period_start = dormant_counts.period_start
)

select * from final
