-- one row per pipeline run that loaded files in the period: files and events it loaded
with

files as (
    select
        run_id,
        loaded_at,
        valid_events
    from analytics.pipeline_file_loads
    where
        true
        [[and loaded_date >= {{start_date}}::date]]
        [[and loaded_date <= {{end_date}}::date]]
),

runs as (
    select
        run_id,
        min(loaded_at) as first_loaded_at,
        count(*) as files_loaded,
        sum(valid_events) as events_loaded
    from files
    group by run_id
),

final as (
    select
        first_loaded_at,
        files_loaded,
        events_loaded,
        to_char(first_loaded_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as run_started
    from runs
)

select
    run_started,
    events_loaded,
    files_loaded
from final
order by first_loaded_at
