-- grain: one row per landing file loaded into raw, with how staging reconciled its lines (counts only)
-- key: file_id
with

files as (
    select
        file_id,
        file_name,
        batch_id,
        size_bytes,
        lines_read,
        lines_loaded,
        lines_rejected,
        load_seconds,
        loaded_at
    from raw.load_files
),

batches as (
    select
        batch_id,
        run_id
    from raw.load_batches
),

staged as (
    select
        file_id,
        valid_events,
        quarantined,
        duplicates,
        staged_at
    from staging.staged_files
),

final as (
    select
        files.file_id,
        files.file_name,
        batches.run_id,
        files.loaded_at,
        files.size_bytes,
        files.lines_read,
        files.lines_loaded,
        files.lines_rejected,
        files.load_seconds,
        staged.staged_at,
        (files.loaded_at at time zone 'UTC')::date as loaded_date,
        coalesce(staged.valid_events, 0) as valid_events,
        coalesce(staged.quarantined, 0) as quarantined,
        coalesce(staged.duplicates, 0) as duplicates
    from files
    left join batches on files.batch_id = batches.batch_id
    left join staged on files.file_id = staged.file_id
)

select * from final
