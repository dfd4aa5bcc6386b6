-- grain: one row per session (the track events that share properties.session_id)
-- The sessions this run's events touch are rebuilt from fact_events (late events included).
delete from core.fact_sessions as sessions
using (
    select distinct session_id
    from core_batch
    where session_id is not null
) as touched
where sessions.session_id = touched.session_id;

insert into core.fact_sessions (
    session_id, user_id, session_date, started_at, ended_at, duration_seconds, track_events, feature_uses, platform
)

with

touched as (
    select distinct session_id
    from core_batch
    where session_id is not null
),

session_events as (
    select events.*
    from core.fact_events as events
    inner join touched on events.session_id = touched.session_id
    where events.event_type = 'track'
),

final as (
    select
        session_id,
        -- a session id belongs to one user; should a client reuse it, the first user keeps it
        (array_agg(user_id order by event_at, file_id, line_no))[1] as user_id,
        (min(event_at) at time zone 'UTC')::date as session_date,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        extract(epoch from max(event_at) - min(event_at))::integer as duration_seconds,
        count(*) as track_events,
        count(*) filter (where event_name = 'feature_used') as feature_uses,
        mode() within group (order by platform) as platform
    from session_events
    group by session_id
)

select * from final;
