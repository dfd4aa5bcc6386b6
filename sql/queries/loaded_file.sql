-- grain: one row (or none) for the loaded file %(file_name)s: registry row, line reconciliation, core events
with

files as (
    select
        file_id,
        file_name,
        sha256,
        size_bytes,
        lines_read,
        lines_loaded,
        lines_rejected,
        loaded_at
    from raw.load_files
    where file_name = %(file_name)s
),

staged_files as (
    select
        file_id,
        valid_events,
        quarantined,
        duplicates
    from staging.staged_files
),

core_events as (
    select
        events.file_id,
        count(*) as core_events
    from core.fact_events as events
    inner join files on events.file_id = files.file_id
    group by events.file_id
),

final as (
    select
        files.file_id,
        files.file_name,
        files.sha256,
        files.size_bytes,
        files.lines_read,
        files.lines_loaded,
        files.lines_rejected,
        files.loaded_at,
        staged_files.valid_events,
        staged_files.quarantined,
        staged_files.duplicates,
        coalesce(core_events.core_events, 0) as core_events
    from files
    left join staged_files on files.file_id = staged_files.file_id
    left join core_events on files.file_id = core_events.file_id
)

select * from final
