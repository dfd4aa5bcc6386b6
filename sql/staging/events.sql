-- grain: one row per message_id; the first valid copy loaded wins (user_id as sent, may be null)
insert into staging.events (
    message_id, event_type, event_name, user_id, anonymous_id, previous_id, group_id, page_name,
    event_at, event_date, received_at, file_id, line_no
)

with

valid as (
    select * from stg_batch
    where reason is null
),

final as (
    select
        message_id,
        event_type,
        event_name,
        user_id,
        anonymous_id,
        previous_id,
        group_id,
        page_name,
        event_at,
        (event_at at time zone 'UTC')::date as event_date,
        received_at,
        file_id,
        line_no
    from valid
    -- in load order: of two copies in this batch, the earlier one is inserted first and wins the conflict
    order by file_id, line_no
)

select * from final
-- a copy staged by an earlier run (or earlier in this batch) was loaded first, so it keeps winning
on conflict (message_id) do nothing;
