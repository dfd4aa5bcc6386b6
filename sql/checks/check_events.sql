-- grain: one row per core event (message_id) the data checks look at: inserted, re-attributed or withdrawn
-- since this check stage last passed (meta.check_scope_events), or every core event in a full sweep
-- temp table: the data-test runner creates it in the checks' transaction, after check_mode
with

mode as (
    select
        full_sweep,
        after_seq,
        upto_seq
    from check_mode
),

scoped as (
    select scope.message_id
    from meta.check_scope_events as scope
    where
        scope.scope_seq > (select mode.after_seq from mode)
        and scope.scope_seq <= (select mode.upto_seq from mode)
        and not (select mode.full_sweep from mode)
),

-- the scalar subquery is a one-time filter: in the daily case core.fact_events is not read here
everything as (
    select events.message_id
    from core.fact_events as events
    where (select mode.full_sweep from mode)
),

final as (
    select * from scoped
    union all
    select * from everything
)

select * from final
