-- every landing line of a loaded file is either in raw.events or in raw.rejected_lines
with

files as (
    select
        file_id,
        file_name,
        lines_read,
        lines_loaded,
        lines_rejected
    from raw.load_files
),

loaded as (
    select
        file_id,
        count(*) as n
    from raw.events
    group by file_id
),

rejected as (
    select
        file_id,
        count(*) as n
    from raw.rejected_lines
    group by file_id
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
