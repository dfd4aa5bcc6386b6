-- grain: one row per core event (message_id) the data checks look at: inserted, re-attributed or withdrawn
-- since this check stage last passed (meta.check_scope_events); a full sweep reads all_events instead
-- temp table: the data-test runner creates it in the checks' transaction, after check_mode
with

mode as (
    select
        after_seq,
        upto_seq
    from check_mode
),

final as (
    select scope.message_id
    from meta.check_scope_events as scope
    where
        scope.scope_seq > (select mode.after_seq from mode)
        and scope.scope_seq <= (select mode.upto_seq from mode)
)

select * from final
