-- grain: one row per message_id; the first valid copy loaded wins (user_id as sent, may be null)
-- A plain insert (no `on conflict`: no speculative insertion, ~40 % less CPU). Every writer of staging.events
-- (run_layer, `files replace`/`forget`) holds the transform lock (transform.TRANSFORM_LOCK), and the primary key
-- stays the guard: a copy written meanwhile by anything else would fail the run, never be staged twice.
insert into staging.events (
    message_id, event_type, event_name, user_id, anonymous_id, previous_id, group_id, page_name,
    event_at, event_date, received_at, file_id, line_no
)

with

valid as (
    select * from stg_batch
    where reason is null
),

-- in load order: of two copies in this batch, the earlier one (file_id, line_no) wins
first_copies as (
    select distinct on (message_id) *
    from valid
    order by message_id, file_id, line_no
),

-- a copy staged by an earlier run (or still staged through a correction) was loaded first, so it keeps winning
new_messages as (
    select first_copies.*
    from first_copies
    where not exists (
            select from staging.events as staged
            where staged.message_id = first_copies.message_id
        )
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
    from new_messages
    -- by message id: the primary key's pages are filled in order, not at random
    order by message_id
)

select * from final;
