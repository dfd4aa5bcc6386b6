-- grain: one row per UTC day, from the first to the latest day with a session (quiet days with zeros)
-- key: activity_date
with

sessions as (
    select
        user_id,
        session_date,
        duration_seconds,
        events
    from core.fact_sessions
),

bounds as (
    select
        min(session_date) as first_day,
        max(session_date) as last_day
    from sessions
),

days as (
    select generate_series(first_day, last_day, interval '1 day')::date as activity_date
    from bounds
),

per_day as (
    select
        session_date,
        count(*) as sessions,
        count(distinct user_id) as users,
        avg(duration_seconds) as avg_session_seconds,
        percentile_cont(0.5) within group (order by duration_seconds) as median_session_seconds,
        avg(events) as avg_events_per_session
    from sessions
    group by session_date
),

final as (
    select
        days.activity_date,
        coalesce(per_day.sessions, 0)::integer as sessions,
        coalesce(per_day.users, 0)::integer as users,
        round(per_day.avg_session_seconds, 3) as avg_session_seconds,
        round(per_day.median_session_seconds::numeric, 3) as median_session_seconds,
        round(per_day.avg_events_per_session, 6) as avg_events_per_session
    from days
    left join per_day on days.activity_date = per_day.session_date
)

select * from final
