-- grain: one row per core.fact_events row inserted this run (or whose person changed this run)
-- temp table: stand-in until identity resolution (issue 9) writes the real one; no event changes person yet
with

batch as (
    select * from core_batch
),

final as (
    select
        message_id,
        user_id,
        null::text as previous_user_id,
        event_type,
        event_name,
        event_at,
        event_date
    from batch
)

select * from final
