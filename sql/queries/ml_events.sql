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
        message_id,
        event_date
    from core.fact_events
    where event_type = 'track'
),

recent as (
    select * from track_events
    where event_date >= %(since)s
),

earlier_signups as (
    select * from track_events
    where event_name = 'signed_up' and event_date < %(since)s
),

final as (
    select * from recent
    union all
    select * from earlier_signups
)

select
    user_id,
    event_at,
    received_at,
    event_name,
    platform,
    feature,
    document_id,
    message_id
from final
order by user_id, event_at, message_id
