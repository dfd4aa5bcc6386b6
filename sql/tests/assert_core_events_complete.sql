-- every staged event up to the core watermark is in core.fact_events, and nothing else is
with

watermark as (
    select last_staged_seq from core.watermarks
    where step = 'core'
),

staged as (
    select staging.events.message_id
    from staging.events
    cross join watermark
    where staging.events.staged_seq <= watermark.last_staged_seq
),

final as (
    select
        coalesce(staged.message_id, facts.message_id) as message_id,
        case when facts.message_id is null then 'missing from core' else 'not staged' end as problem
    from staged
    full outer join core.fact_events as facts on staged.message_id = facts.message_id
    where staged.message_id is null or facts.message_id is null
)

select * from final
