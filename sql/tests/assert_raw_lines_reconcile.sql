-- every landing line of the checked files is either in raw.events or in raw.rejected_lines
-- (check_files: the files staged since the checks last passed, every file in a full sweep)
with

checked as (
    select file_id from check_files
),

files as (
    select
        files.file_id,
        files.file_name,
        files.lines_read,
        files.lines_loaded,
        files.lines_rejected
    from raw.load_files as files
    inner join checked on files.file_id = checked.file_id
),

loaded as (
    select
        events.file_id,
        count(*) as n
    from raw.events as events
    inner join files on events.file_id = files.file_id
    group by events.file_id
),

rejected as (
    select
        rejected_lines.file_id,
        count(*) as n
    from raw.rejected_lines as rejected_lines
    inner join files on rejected_lines.file_id = files.file_id
    group by rejected_lines.file_id
),

final as (
    select
        files.*,
        coalesce(loaded.n, 0) as events_rows,
        coalesce(rejected.n, 0) as rejected_rows
    from files
    left join loaded on files.file_id = loaded.file_id
    left join rejected on files.file_id = rejected.file_id
    where
        coalesce(loaded.n, 0) <> files.lines_loaded
        or coalesce(rejected.n, 0) <> files.lines_rejected
)

select * from final
