-- grain: one row: the highest scope number check stage %(stage)s has passed (null: it never passed), the
-- highest scope number given out so far (meta.check_scope_seq; 0 before the first), how many core events
-- are in scope for the stage, and about how many core events there are (the planner's estimate)
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

scope_events as (
    select count(*) as scope_events
    from meta.check_scope_events as scope
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
        scope_events.scope_events,
        core_events.core_events
    from watermark
    cross join given_out
    cross join scope_events
    cross join core_events
)

select * from final
