-- grain: one row per core event (message_id) the data checks look at: inserted (meta.check_scope_staged),
-- re-attributed or withdrawn (meta.check_scope_events) since this check stage last passed, with the date
-- staging gave an inserted one (null for a listed one); a full sweep reads all_event_ids instead
-- temp table: the data-test runner creates it in the checks' transaction, after check_mode (analyzed, so
-- that check_events joins it to core.fact_events by the plan its size calls for)
with

mode as (
    select
        after_seq,
        upto_seq
    from check_mode
),

-- the events core re-attributed or withdrawn (and, before migration 0016, inserted), one by one
listed as (
    select scope.message_id
    from meta.check_scope_events as scope
    where
        scope.scope_seq > (select mode.after_seq from mode)
        and scope.scope_seq <= (select mode.upto_seq from mode)
),

ranges as (
    select
        scope.after_staged_seq,
        scope.upto_staged_seq
    from meta.check_scope_staged as scope
    where
        scope.scope_seq > (select mode.after_seq from mode)
        and scope.scope_seq <= (select mode.upto_seq from mode)
),

-- the staged events core inserted, by range (the BRIN index on staged_seq: the day's last block ranges)
inserted as (
    select
        staged.message_id,
        staged.event_date
    from ranges
    inner join staging.events as staged
        on
            ranges.after_staged_seq < staged.staged_seq
            and ranges.upto_staged_seq >= staged.staged_seq
),

-- each event once: a listed event that is also in a range (re-attributed after an unchecked insert) is
-- left out of the list by one index lookup per listed event
scoped as (
    select
        inserted.message_id,
        inserted.event_date
    from inserted
    union all
    select
        listed.message_id,
        null::date as event_date
    from listed
    where not exists (
            select from staging.events as staged
            inner join ranges
                on
                    staged.staged_seq > ranges.after_staged_seq
                    and staged.staged_seq <= ranges.upto_staged_seq
            where staged.message_id = listed.message_id
        )
),

final as (
    select
        message_id,
        event_date
    from scoped
)

select * from final
