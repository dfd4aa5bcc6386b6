-- one row per landing file loaded in the period: its lines by outcome
with

files as (
    select
        file_id,
        file_name,
        valid_events,
        duplicates,
        quarantined
    from analytics.pipeline_file_loads
    where
        true
        [[and loaded_date >= {{start_date}}::date]]
        [[and loaded_date <= {{end_date}}::date]]
)

select
    file_name,
    valid_events,
    duplicates,
    quarantined
from files
order by file_id
