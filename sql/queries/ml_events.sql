-- grain: one row per activity event (track, page, screen) of a person from %(since)s on, plus every
-- earlier signup (so tenure stays right); events attributed to nobody are no one's behaviour
with

-- the window: a range of the event_date index, whatever the history before it
recent_events as (
    select
        user_id,
        event_at,
        received_at,
        event_name,
        platform,
        feature,
        document_id,
        message_id
    from core.fact_events
    where
        event_date >= %(since)s
        and event_type in ('track', 'page', 'screen')
        and user_id is not null
),

-- earlier signups: the partial index fact_events_signups (migration 0009)
earlier_signups as (
    select
        user_id,
        event_at,
        received_at,
        event_name,
        platform,
        feature,
        document_id,
        message_id
    from core.fact_events
    where
        event_name = 'signed_up'
        and event_date < %(since)s
        and event_type = 'track'
        and user_id is not null
),

final as (
    select * from recent_events
    union all
    select * from earlier_signups
)

-- no order: every feature is an aggregate per person (sorting 3 M rows cost more than reading them)
select * from final
