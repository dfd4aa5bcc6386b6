-- grain: one row (or none): the latest run of stage %(stage)s, its status and the warehouse state it saw
-- and (data checks) whether it was a full sweep or scoped
with

stages as (
    select
        run_id,
        status,
        recorded_at,
        detail ->> 'state' as state,
        detail ->> 'mode' as mode
    from analytics.pipeline_run_stages
    where stage = %(stage)s
)

select
    run_id,
    status,
    state,
    mode
from stages
order by recorded_at desc
limit 1
