-- grain: one row (or none): the latest holdout check of the churn champion that a successful
-- train_churn_model stage recorded (its detail's holdout_check)
with

stages as (
    select
        run_id,
        recorded_at,
        detail -> 'holdout_check' as holdout_check
    from analytics.pipeline_run_stages
    where
        stage = 'train_churn_model'
        and status = 'success'
        and detail ? 'holdout_check'
)

select
    run_id,
    holdout_check
from stages
order by recorded_at desc
limit 1
