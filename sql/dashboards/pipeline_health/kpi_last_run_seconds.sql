-- seconds the latest run in the period spent in its stages, and the run before it
with

stages as (
    select
        run_id,
        seconds,
        recorded_at
    from analytics.pipeline_run_stages
),

runs as (
    select
        run_id,
        min(recorded_at - seconds * interval '1 second') as started_at,
        sum(seconds) as seconds
    from stages
    group by run_id
),

with_previous as (
    select
        run_id,
        started_at,
        seconds,
        lag(seconds) over (order by started_at) as previous_seconds
    from runs
),

final as (
    select
        run_id,
        started_at,
        seconds,
        previous_seconds
    from with_previous
    where
        true
        [[and (started_at at time zone 'UTC')::date >= {{start_date}}::date]]
        [[and (started_at at time zone 'UTC')::date <= {{end_date}}::date]]
    order by started_at desc
    limit 1
)

select * from final
