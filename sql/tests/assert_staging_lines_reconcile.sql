-- for every staged file: valid events + quarantined + duplicates = lines read
with

files as (
    select
        file_id,
        file_name,
        lines_read
    from raw.load_files
),

valid as (
    select
        file_id,
        count(*) as n
    from staging.events
    group by file_id
),

quarantined as (
    select
        file_id,
        count(*) as n
    from staging.quarantine
    group by file_id
),

duplicates as (
    select
        file_id,
        count(*) as n
    from staging.duplicates
    group by file_id
),

final as (
    select
        files.file_id,
        files.file_name,
        files.lines_read,
        coalesce(valid.n, 0) as valid_events,
        coalesce(quarantined.n, 0) as quarantined,
        coalesce(duplicates.n, 0) as duplicates
    from files
    inner join staging.staged_files as staged on files.file_id = staged.file_id
    left join valid on files.file_id = valid.file_id
    left join quarantined on files.file_id = quarantined.file_id
    left join duplicates on files.file_id = duplicates.file_id
    where coalesce(valid.n, 0) + coalesce(quarantined.n, 0) + coalesce(duplicates.n, 0) <> files.lines_read
)

select * from final
