-- grain: one row per valid, deduplicated event
insert into core.fact_events (
    message_id, user_id, event_type, event_name, event_at, event_date, received_at,
    platform, feature, document_id, session_id, properties, file_id, line_no
)

with

batch as (
    select * from core_batch
),

final as (
    select
        message_id,
        user_id,
        event_type,
        event_name,
        event_at,
        event_date,
        received_at,
        platform,
        feature,
        document_id,
        session_id,
        properties,
        file_id,
        line_no
    from batch
)

select * from final
on conflict (message_id) do nothing;
