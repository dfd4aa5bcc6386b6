-- grain: one row (or none): the latest training run of the model %(model_name)s
with

runs as (
    select * from analytics.ml_model_runs
    where model_name = %(model_name)s
)

select * from runs
order by as_of desc, trained_at desc
limit 1
