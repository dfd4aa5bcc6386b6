-- grain: one row (or none): the audit detail of stage %(stage)s in run %(run_id)s
with

stages as (
    select
        run_id,
        stage,
        detail
    from analytics.pipeline_run_stages
),

final as (
    select detail
    from stages
    where run_id = %(run_id)s and stage = %(stage)s
)

select * from final
