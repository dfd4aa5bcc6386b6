-- grain: one row per period kind (day, week, month) per period, from the first to the latest active one
-- key: period, period_start
-- A thin read of core.agg_user_lifecycle (sql/core/agg_user_lifecycle.sql: the growth accounting, kept by
-- the core layer for the periods each run changes); here the quiet periods are filled with zeros.
with

counts as (
    select
        period,
        period_start,
        new_users,
        returning_users,
        resurrecting_users,
        dormant_users,
        new_users + returning_users + resurrecting_users as active_users
    from core.agg_user_lifecycle
),

latest as (
    select max(activity_date) as latest_activity_day
    from core.fact_daily_user_activity
),

kinds as (
    select
        period,
        step
    from core.lifecycle_periods
),

bounds as (
    select
        period,
        min(period_start) as first_start,
        max(period_start) as last_start
    from counts
    where active_users > 0
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
        coalesce(counts.active_users, 0)::integer as active_users,
        coalesce(counts.new_users, 0)::integer as new_users,
        coalesce(counts.returning_users, 0)::integer as returning_users,
        coalesce(counts.resurrecting_users, 0)::integer as resurrecting_users,
        coalesce(counts.dormant_users, 0)::integer as dormant_users,
        grid.period_end <= latest.latest_activity_day as is_complete
    from grid
    cross join latest
    left join counts on grid.period = counts.period and grid.period_start = counts.period_start
)

select * from final
