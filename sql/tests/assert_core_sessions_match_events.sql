-- core.fact_sessions equals the 30-minute inactivity sessions recomputed from every activity event
with

activity as (
    select
        user_id,
        event_at,
        file_id,
        line_no
    from core.fact_events
    where user_id is not null and event_type in ('track', 'page', 'screen')
),

starts as (
    select
        *,
        coalesce(event_at - lag(event_at) over by_time > interval '30 minutes', true)::integer as is_start
    from activity
    window by_time as (partition by user_id order by event_at, file_id, line_no)
),

numbered as (
    select
        *,
        sum(is_start) over (partition by user_id order by event_at, file_id, line_no) as session_no
    from starts
),

expected as (
    select
        user_id,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        count(*) as events
    from numbered
    group by user_id, session_no
),

final as (
    select
        coalesce(expected.user_id, sessions.user_id) as user_id,
        coalesce(expected.started_at, sessions.started_at) as started_at,
        expected.ended_at as expected_ended_at,
        sessions.ended_at as actual_ended_at,
        expected.events as expected_events,
        sessions.events as actual_events
    from expected
    full outer join core.fact_sessions as sessions
        on expected.user_id = sessions.user_id and expected.started_at = sessions.started_at
    where
        expected.ended_at is distinct from sessions.ended_at
        or expected.events is distinct from sessions.events
        or sessions.session_date is distinct from (expected.started_at at time zone 'UTC')::date
        or sessions.duration_seconds is distinct from extract(epoch from expected.ended_at - expected.started_at)
)

select * from final
