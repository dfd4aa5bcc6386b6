-- grain: one row per file the loader registered (raw.load_files), with its open quarantine reason if any
with

loaded as (
    select
        file_name,
        sha256,
        lines_read,
        loaded_at
    from raw.load_files
),

quarantined as (
    select
        file_name,
        reason
    from raw.quarantined_files
    where status = 'quarantined'
),

final as (
    select
        coalesce(loaded.file_name, quarantined.file_name) as file_name,
        loaded.file_name is not null as is_loaded,
        loaded.sha256,
        loaded.lines_read,
        loaded.loaded_at,
        quarantined.reason as quarantine_reason
    from loaded
    full outer join quarantined on loaded.file_name = quarantined.file_name
)

select * from final
order by file_name
