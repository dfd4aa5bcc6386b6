-- every staged event up to the core watermark is in core.fact_events, and nothing else is
-- (checked: the staged events of check_files and the core events of check_events — since the checks last
-- passed, or all of them in a full sweep). The two are matched to each other first, in one hash join; only
-- an event one of them lacks is looked up in the other table (in a sweep, only a defect is)
with

watermark as (
    select last_staged_seq from core.watermarks
    where step = 'core'
),

staged as (
    select staged.message_id
    from staging.events as staged
    inner join check_files on staged.file_id = check_files.file_id
    cross join watermark
    where staged.staged_seq <= watermark.last_staged_seq
),

facts as (
    select check_events.message_id
    from check_events
    where check_events.in_core
),

unmatched as (
    select
        staged.message_id as staged_id,
        facts.message_id as fact_id
    from staged
    full outer join facts on staged.message_id = facts.message_id
    where staged.message_id is null or facts.message_id is null
),

-- one index lookup per unmatched event (an exists in the select list is not turned into a join that would
-- read the whole table)
looked_up as (
    select
        unmatched.staged_id,
        unmatched.fact_id,
        unmatched.staged_id is not null and exists (
            select from core.fact_events as events
            where events.message_id = unmatched.staged_id
        ) as staged_in_core,
        unmatched.fact_id is not null and exists (
            select from staging.events as staged
            cross join watermark
            where
                staged.message_id = unmatched.fact_id
                and staged.staged_seq <= watermark.last_staged_seq
        ) as fact_staged
    from unmatched
),

missing_from_core as (
    select
        staged_id as message_id,
        'missing from core' as problem
    from looked_up
    where staged_id is not null and not staged_in_core
),

not_staged as (
    select
        fact_id as message_id,
        'not staged' as problem
    from looked_up
    where fact_id is not null and not fact_staged
),

final as (
    select * from missing_from_core
    union all
    select * from not_staged
)

select * from final
