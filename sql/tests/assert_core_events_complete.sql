-- every staged event up to the core watermark is in core.fact_events, and nothing else is
-- (checked: the staged events of check_files and the core events of check_events — since the checks last
-- passed, or all of them in a full sweep)
with

watermark as (
    select last_staged_seq from core.watermarks
    where step = 'core'
),

staged as (
    select
        staged.message_id,
        staged.staged_seq
    from staging.events as staged
    inner join check_files on staged.file_id = check_files.file_id
),

facts as (
    select events.message_id
    from core.fact_events as events
    inner join check_events on events.message_id = check_events.message_id
),

missing_from_core as (
    select
        staged.message_id,
        'missing from core' as problem
    from staged
    cross join watermark
    where
        staged.staged_seq <= watermark.last_staged_seq
        and not exists (
            select from core.fact_events as events
            where events.message_id = staged.message_id
        )
),

not_staged as (
    select
        facts.message_id,
        'not staged' as problem
    from facts
    cross join watermark
    where not exists (
            select from staging.events
            where
                staging.events.message_id = facts.message_id
                and staging.events.staged_seq <= watermark.last_staged_seq
        )
),

final as (
    select * from missing_from_core
    union all
    select * from not_staged
)

select * from final
