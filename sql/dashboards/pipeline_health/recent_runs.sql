-- one row per pipeline run started in the period, latest first (the run audit, with its files' outcomes)
with

stages as (
    select
        run_id,
        status,
        seconds,
        recorded_at
    from analytics.pipeline_run_stages
),

recorded_runs as (
    select
        run_id,
        started_at,
        status
    from analytics.pipeline_runs
),

files as (
    select
        run_id,
        count(*) as files_loaded,
        sum(valid_events) as events_loaded,
        sum(quarantined) as quarantined,
        sum(duplicates) as duplicates
    from analytics.pipeline_file_loads
    group by run_id
),

stage_runs as (
    select
        run_id,
        min(recorded_at - seconds * interval '1 second') as started_at,
        sum(seconds) as seconds,
        bool_and(status = 'success') as all_stages_succeeded
    from stages
    group by run_id
),

final as (
    select
        stage_runs.run_id,
        stage_runs.seconds,
        coalesce(recorded_runs.started_at, stage_runs.started_at) as started_at,
        coalesce(
            recorded_runs.status,
            case when stage_runs.all_stages_succeeded then 'success' else 'failed' end
        ) as status,
        coalesce(files.files_loaded, 0) as files_loaded,
        coalesce(files.events_loaded, 0) as events_loaded,
        coalesce(files.quarantined, 0) as quarantined,
        coalesce(files.duplicates, 0) as duplicates
    from stage_runs
    left join recorded_runs on stage_runs.run_id = recorded_runs.run_id
    left join files on stage_runs.run_id = files.run_id
)

select
    run_id,
    started_at,
    status,
    files_loaded,
    events_loaded,
    quarantined,
    duplicates,
    seconds
from final
where
    true
    [[and (started_at at time zone 'UTC')::date >= {{start_date}}::date]]
    [[and (started_at at time zone 'UTC')::date <= {{end_date}}::date]]
order by started_at desc
limit 200
