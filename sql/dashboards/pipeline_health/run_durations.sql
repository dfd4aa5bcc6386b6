-- one row per pipeline run and stage: the stage's seconds (the latest 60 runs in the period)
with

runs as (
    select
        run_id,
        started_at
    from analytics.pipeline_run_summary
    where
        true
        [[and (started_at at time zone 'UTC')::date >= {{start_date}}::date]]
        [[and (started_at at time zone 'UTC')::date <= {{end_date}}::date]]
    order by started_at desc
    limit 60
),

stages as (
    select
        run_id,
        stage,
        seconds,
        recorded_at
    from analytics.pipeline_run_stages
),

final as (
    select
        runs.started_at,
        stages.stage,
        stages.seconds,
        stages.recorded_at,
        to_char(runs.started_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as run_started
    from runs
    inner join stages on runs.run_id = stages.run_id
)

select
    run_started,
    stage,
    seconds
from final
order by started_at, recorded_at
