-- grain: one row per core event (message_id) the data checks look at (check_event_ids), with the columns
-- of its core row that the tests read (in_core false: withdrawn, no longer in core.fact_events); a full
-- sweep reads all_events instead
-- temp table: the data-test runner creates it in the checks' transaction, after check_event_ids
with

ids as (
    select message_id from check_event_ids
),

-- the one read of the scope's core rows: every test on events reads these columns from here
final as (
    select
        ids.message_id,
        events.message_id is not null as in_core,
        events.user_id,
        events.sent_user_id,
        events.anonymous_id
    from ids
    left join core.fact_events as events on ids.message_id = events.message_id
)

select * from final
