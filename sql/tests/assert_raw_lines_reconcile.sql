-- every landing line of the latest batch's files is either in raw.events or in raw.rejected_lines
-- (scoped to the latest batch so the check costs what the day's data costs)
with

latest_batch as (
    select max(batch_id) as batch_id
    from raw.load_files
),

files as (
    select
        files.file_id,
        files.file_name,
        files.lines_read,
        files.lines_loaded,
        files.lines_rejected
    from raw.load_files as files
    inner join latest_batch on files.batch_id = latest_batch.batch_id
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
