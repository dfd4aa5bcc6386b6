-- every session's event count equals the activity events of persons carrying its session_id
with

from_events as (
    select
        session_id,
        count(*) as track_events
    from core.fact_events
    where event_type in ('track', 'page', 'screen') and user_id is not null and session_id is not null
    group by session_id
),

final as (
    select
        coalesce(from_events.session_id, sessions.session_id) as session_id,
        from_events.track_events as expected,
        sessions.track_events as actual
    from from_events
    full outer join core.fact_sessions as sessions on from_events.session_id = sessions.session_id
    where from_events.track_events is distinct from sessions.track_events
)

select * from final
