-- one row per pipeline run started in the period, latest first (status and totals: analytics.pipeline_run_summary)
with

runs as (
    select
        run_id,
        started_at,
        status,
        files_loaded,
        events_loaded,
        quarantined,
        duplicates,
        seconds
    from analytics.pipeline_run_summary
    where
        true
        [[and (started_at at time zone 'UTC')::date >= {{start_date}}::date]]
        [[and (started_at at time zone 'UTC')::date <= {{end_date}}::date]]
)

select * from runs
order by started_at desc
limit 200
