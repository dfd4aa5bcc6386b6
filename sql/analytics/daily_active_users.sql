-- grain: one row per UTC day, from the first to the latest day with activity (quiet days included)
-- key: activity_date
with

activity as (
    select
        user_id,
        activity_date
    from core.fact_daily_user_activity
),

bounds as (
    select
        min(activity_date) as first_day,
        max(activity_date) as last_day
    from activity
),

days as (
    select generate_series(first_day, last_day, interval '1 day')::date as activity_date
    from bounds
),

user_days as (
    select
        user_id,
        activity_date,
        lead(activity_date) over (partition by user_id order by activity_date) as next_active_date
    from activity
),

-- An active day keeps its user in the 7-day (30-day) window until 7 (30) days later or until their
-- next active day takes over, so each user is counted at most once per day: +1 at the start, -1 after.
window_edges as (
    select
        activity_date as edge_date,
        1 as dau,
        1 as wau,
        1 as mau
    from user_days
    union all
    select
        activity_date + 1 as edge_date,
        -1 as dau,
        0 as wau,
        0 as mau
    from user_days
    union all
    select
        least(activity_date + 7, next_active_date) as edge_date,
        0 as dau,
        -1 as wau,
        0 as mau
    from user_days
    union all
    select
        least(activity_date + 30, next_active_date) as edge_date,
        0 as dau,
        0 as wau,
        -1 as mau
    from user_days
),

daily_edges as (
    select
        edge_date,
        sum(dau) as dau,
        sum(wau) as wau,
        sum(mau) as mau
    from window_edges
    group by edge_date
),

rolling as (
    select
        days.activity_date,
        sum(coalesce(daily_edges.dau, 0)) over running as dau,
        sum(coalesce(daily_edges.wau, 0)) over running as wau,
        sum(coalesce(daily_edges.mau, 0)) over running as mau
    from days
    left join daily_edges on days.activity_date = daily_edges.edge_date
    window running as (order by days.activity_date rows between unbounded preceding and current row)
),

final as (
    select
        activity_date,
        dau::integer as dau,
        wau::integer as wau,
        mau::integer as mau,
        round(dau::numeric / nullif(mau, 0), 6) as stickiness
    from rolling
)

select * from final
