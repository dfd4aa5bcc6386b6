-- grain: one row (or none): the latest run of stage %(stage)s, its status and the warehouse state it saw
with

stages as (
    select
        run_id,
        status,
        recorded_at,
        detail ->> 'state' as state
    from analytics.pipeline_run_stages
    where stage = %(stage)s
)

select
    run_id,
    status,
    state
from stages
order by recorded_at desc
limit 1
