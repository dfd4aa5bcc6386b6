-- seconds the latest run in the period spent in its stages, and the run before it
with

runs as (
    select
        run_id,
        started_at,
        seconds,
        lag(seconds) over (order by started_at) as previous_seconds
    from analytics.pipeline_run_summary
),

final as (
    select
        run_id,
        started_at,
        seconds,
        previous_seconds
    from runs
    where
        true
        [[and (started_at at time zone 'UTC')::date >= {{start_date}}::date]]
        [[and (started_at at time zone 'UTC')::date <= {{end_date}}::date]]
)

select * from final
order by started_at desc
limit 1
