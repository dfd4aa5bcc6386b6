-- for every checked staged file: valid events + quarantined + duplicates = lines read
-- (check_files: the files staged since the checks last passed, every file in a full sweep)
with

checked as (
    select file_id from check_files
),

files as (
    select
        files.file_id,
        files.file_name,
        files.lines_read
    from raw.load_files as files
    inner join checked on files.file_id = checked.file_id
    inner join staging.staged_files as staged on files.file_id = staged.file_id
),

valid as (
    select
        events.file_id,
        count(*) as n
    from staging.events as events
    inner join files on events.file_id = files.file_id
    group by events.file_id
),

quarantined as (
    select
        quarantine.file_id,
        count(*) as n
    from staging.quarantine as quarantine
    inner join files on quarantine.file_id = files.file_id
    group by quarantine.file_id
),

duplicates as (
    select
        duplicates.file_id,
        count(*) as n
    from staging.duplicates as duplicates
    inner join files on duplicates.file_id = files.file_id
    group by duplicates.file_id
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
    left join valid on files.file_id = valid.file_id
    left join quarantined on files.file_id = quarantined.file_id
    left join duplicates on files.file_id = duplicates.file_id
    where coalesce(valid.n, 0) + coalesce(quarantined.n, 0) + coalesce(duplicates.n, 0) <> files.lines_read
)

select * from final
