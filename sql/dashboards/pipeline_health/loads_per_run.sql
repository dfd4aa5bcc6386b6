-- one row per pipeline run started in the period that loaded files: files and events it loaded
with

runs as (
    select
        started_at,
        files_loaded,
        events_loaded,
        to_char(started_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as run_started
    from analytics.pipeline_run_summary
    where
        files_loaded > 0
        [[and (started_at at time zone 'UTC')::date >= {{start_date}}::date]]
        [[and (started_at at time zone 'UTC')::date <= {{end_date}}::date]]
)

select
    run_started,
    events_loaded,
    files_loaded
from runs
order by started_at
