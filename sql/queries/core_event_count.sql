-- grain: one row: how many valid, deduplicated events core.fact_events holds (benchmark context)
with

events as (
    select message_id from core.fact_events
),

final as (
    select count(*) as events
    from events
)

select * from final
