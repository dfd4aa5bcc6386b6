-- one row per landing file set aside as a whole (changed after loading, unreadable), open ones first
with

quarantined as (
    select
        file_name,
        status,
        reason,
        size_bytes,
        first_seen_at,
        last_seen_at,
        resolution
    from analytics.pipeline_quarantined_files
    where
        true
        [[and (last_seen_at at time zone 'UTC')::date >= {{start_date}}::date]]
        [[and (first_seen_at at time zone 'UTC')::date <= {{end_date}}::date]]
)

select
    file_name,
    status,
    reason,
    size_bytes,
    first_seen_at,
    last_seen_at,
    resolution
from quarantined
order by status = 'quarantined' desc, last_seen_at desc
limit 200
