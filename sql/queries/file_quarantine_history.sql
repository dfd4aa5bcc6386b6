-- grain: one row per time the landing file %(file_name)s was quarantined as a whole, oldest first
with

quarantined as (
    select
        quarantine_id,
        file_name,
        status,
        reason,
        first_seen_at,
        resolution
    from raw.quarantined_files
),

final as (
    select
        quarantine_id,
        status,
        reason,
        first_seen_at,
        resolution
    from quarantined
    where file_name = %(file_name)s
)

select * from final
order by quarantine_id
