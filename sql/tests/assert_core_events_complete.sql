-- every staged event up to the core watermark is in core.fact_events, and nothing else is
-- (checked: the staged events of check_files and the core events of check_events — since the checks last
-- passed, or all of them in a full sweep)
with

watermark as (
    select last_staged_seq from core.watermarks
    where step = 'core'
),

candidates as (
    select staged.message_id
    from staging.events as staged
    inner join check_files on staged.file_id = check_files.file_id
    union
    select message_id from check_events
),

staged as (
    select staging.events.message_id
    from staging.events
    inner join candidates on staging.events.message_id = candidates.message_id
    cross join watermark
    where staging.events.staged_seq <= watermark.last_staged_seq
),

facts as (
    select events.message_id
    from core.fact_events as events
    inner join candidates on events.message_id = candidates.message_id
),

final as (
    select
        coalesce(staged.message_id, facts.message_id) as message_id,
        case when facts.message_id is null then 'missing from core' else 'not staged' end as problem
    from staged
    full outer join facts on staged.message_id = facts.message_id
    where staged.message_id is null or facts.message_id is null
)

select * from final
