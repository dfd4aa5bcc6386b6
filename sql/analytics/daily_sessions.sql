-- grain: one row per UTC day, from the first to the latest day with a session (quiet days with zeros)
-- key: activity_date
-- A thin read of core.agg_daily_sessions (sql/core/agg_daily_sessions.sql), which the core layer keeps for
-- the session days each run changes; here only the quiet days are filled in.
with

per_day as (
    select
        session_date,
        sessions,
        users,
        avg_session_seconds,
        median_session_seconds,
        avg_events_per_session
    from core.agg_daily_sessions
),

bounds as (
    select
        min(session_date) as first_day,
        max(session_date) as last_day
    from per_day
),

days as (
    select generate_series(first_day, last_day, interval '1 day')::date as activity_date
    from bounds
),

final as (
    select
        days.activity_date,
        coalesce(per_day.sessions, 0)::integer as sessions,
        coalesce(per_day.users, 0)::integer as users,
        per_day.avg_session_seconds,
        per_day.median_session_seconds,
        per_day.avg_events_per_session
    from days
    left join per_day on days.activity_date = per_day.session_date
)

select * from final
