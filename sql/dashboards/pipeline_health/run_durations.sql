-- one row per pipeline run and stage: the stage's seconds (the latest 60 runs in the period)
with

stages as (
    select
        run_id,
        stage,
        seconds,
        recorded_at
    from analytics.pipeline_run_stages
),

runs as (
    select
        run_id,
        min(recorded_at - seconds * interval '1 second') as started_at
    from stages
    group by run_id
),

latest_runs as (
    select
        run_id,
        started_at
    from runs
    where
        true
        [[and (started_at at time zone 'UTC')::date >= {{start_date}}::date]]
        [[and (started_at at time zone 'UTC')::date <= {{end_date}}::date]]
    order by started_at desc
    limit 60
),

final as (
    select
        latest_runs.started_at,
        stages.stage,
        stages.seconds,
        stages.recorded_at,
        to_char(latest_runs.started_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as run_started
    from latest_runs
    inner join stages on latest_runs.run_id = stages.run_id
)

select
    run_started,
    stage,
    seconds
from final
order by started_at, recorded_at
