-- grain: one row per session (the activity events of a person that share properties.session_id)
-- The sessions this run's changes touch are rebuilt from fact_events (late events and re-attributions included).
delete from core.fact_sessions as sessions
using (
    select distinct events.session_id
    from core_changes
    inner join core.fact_events as events on core_changes.message_id = events.message_id
    where events.session_id is not null
) as touched
where sessions.session_id = touched.session_id;

insert into core.fact_sessions (
    session_id, user_id, session_date, started_at, ended_at, duration_seconds, track_events, feature_uses, platform
)

with

touched as (
    select distinct events.session_id
    from core_changes
    inner join core.fact_events as events on core_changes.message_id = events.message_id
    where events.session_id is not null
),

session_events as (
    select events.*
    from core.fact_events as events
    inner join touched on events.session_id = touched.session_id
    where events.event_type in ('track', 'page', 'screen') and events.user_id is not null
),

final as (
    select
        session_id,
        -- a session id belongs to one person; should a client reuse it, the first person keeps it
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
