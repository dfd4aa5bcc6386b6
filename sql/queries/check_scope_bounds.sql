-- grain: one row: the highest scope number check stage %(stage)s has passed (null: it never passed), the
-- highest scope number given out so far (meta.check_scope_seq; 0 before the first), about how many core
-- events are in scope for the stage (listed events plus the width of core's staged_seq ranges), and about
-- how many core events there are (the planner's estimate)
with

watermark as (
    select max(checked_seq) as checked_seq
    from meta.check_watermarks
    where stage = %(stage)s
),

given_out as (
    select case when is_called then last_value else 0 end as upto_seq
    from meta.check_scope_seq
),

listed_events as (
    select count(*) as events
    from meta.check_scope_events as scope
    cross join watermark
    where scope.scope_seq > coalesce(watermark.checked_seq, 0)
),

-- a range's width counts staged_seq numbers, an upper bound of its events (a conflicting insert skips one)
ranged_events as (
    select coalesce(sum(scope.upto_staged_seq - scope.after_staged_seq), 0)::bigint as events
    from meta.check_scope_staged as scope
    cross join watermark
    where scope.scope_seq > coalesce(watermark.checked_seq, 0)
),

core_events as (
    select greatest(reltuples, 0)::bigint as core_events
    from pg_class
    where oid = 'core.fact_events'::regclass
),

final as (
    select
        watermark.checked_seq,
        given_out.upto_seq,
        listed_events.events + ranged_events.events as scope_events,
        core_events.core_events
    from watermark
    cross join given_out
    cross join listed_events
    cross join ranged_events
    cross join core_events
)

select * from final
