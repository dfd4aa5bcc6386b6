-- grain: one row per valid track event from %(since)s on, plus every earlier signup (tenure stays right)
with

track_events as (
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
        event_type = 'track'
        and (event_date >= %(since)s or event_name = 'signed_up')
)

select * from track_events
order by user_id, event_at, message_id
