-- one row per landing file set aside as a whole (changed after loading, unreadable), open ones first;
-- a single "none" row when no file was ever quarantined in the period, so the card says so
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
),

nothing as (
    select
        '(none)' as file_name,
        'ok' as status,
        'no landing file is quarantined' as reason,
        null::bigint as size_bytes,
        null::timestamptz as first_seen_at,
        null::timestamptz as last_seen_at,
        null::text as resolution
    where not exists (select 1 from quarantined)
),

final as (
    select * from quarantined
    union all
    select * from nothing
)

select
    file_name,
    status,
    reason,
    size_bytes,
    first_seen_at,
    last_seen_at,
    resolution
from final
order by status = 'quarantined' desc, last_seen_at desc nulls last
limit 200
