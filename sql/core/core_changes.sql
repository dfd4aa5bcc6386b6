-- grain: one row per core.fact_events row inserted this run (stand-in; h9's identity step replaces it)
-- temp table: the runner creates it for this run's transaction
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

select * from final;
