-- grain: one row per person whose sessions this run rebuilds, with the time span to rebuild
-- temp table: the runner creates it for this run's transaction
with

-- activity events that appeared for a person, or left them (re-attributed to someone else)
changed as (
    select
        user_id,
        event_at
    from core_changes
    where user_id is not null and event_type in ('track', 'page', 'screen')
    union all
    select
        previous_user_id as user_id,
        event_at
    from core_changes
    where previous_user_id is not null and event_type in ('track', 'page', 'screen')
),

-- an event within 30 minutes of a change can join or leave a session with it
changed_spans as (
    select
        user_id,
        min(event_at) - interval '30 minutes' as span_from,
        max(event_at) + interval '30 minutes' as span_to
    from changed
    group by user_id
),

-- right after migration 0008 the table is empty while core is not: rebuild every person once
bootstrap as (
    select distinct
        events.user_id,
        '-infinity'::timestamptz as span_from,
        'infinity'::timestamptz as span_to
    from core.fact_events as events
    where
        not exists (select from core.fact_sessions)
        and events.user_id is not null
        and events.event_type in ('track', 'page', 'screen')
),

spans as (
    select * from changed_spans
    union all
    select * from bootstrap
),

-- sessions that touch the span are rebuilt whole, so the span grows to cover them
final as (
    select
        spans.user_id,
        least(min(spans.span_from), min(sessions.started_at)) as span_from,
        greatest(max(spans.span_to), max(sessions.ended_at)) as span_to
    from spans
    left join core.fact_sessions as sessions
        on
            spans.user_id = sessions.user_id
            and spans.span_from <= sessions.ended_at
            and spans.span_to >= sessions.started_at
    group by spans.user_id
)

select * from final;
