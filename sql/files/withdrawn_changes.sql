-- grain: one row per withdrawn core event, added to this transaction's core_changes (contract of
-- INTERFACE.md): its person is now nobody, before it was user_id, so every derived fact rebuilds the
-- person-days (and persons) it touched — run right after the core step core_changes, when there is one
insert into core_changes (
    message_id, user_id, previous_user_id, event_type, event_name, event_at, event_date, group_id
)

with

withdrawn as (
    select * from withdrawn_events
),

final as (
    select
        message_id,
        null::text as user_id,
        user_id as previous_user_id,
        event_type,
        event_name,
        event_at,
        event_date,
        group_id
    from withdrawn
)

select * from final;
