-- grain: one row per loaded landing file per quarantine reason (counts only: no lines, no payloads)
-- key: file_id, reason
with

quarantined as (
    select
        file_id,
        reason
    from staging.quarantine
),

files as (
    select
        file_id,
        file_name,
        loaded_at
    from raw.load_files
),

per_file as (
    select
        file_id,
        reason,
        count(*) as quarantined_lines
    from quarantined
    group by file_id, reason
),

final as (
    select
        per_file.file_id,
        per_file.reason,
        files.file_name,
        per_file.quarantined_lines::integer as quarantined_lines,
        (files.loaded_at at time zone 'UTC')::date as loaded_date
    from per_file
    inner join files on per_file.file_id = files.file_id
)

select * from final
