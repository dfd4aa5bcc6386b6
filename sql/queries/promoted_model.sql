-- grain: one row (or none): the promoted version of the model %(model_name)s (the latest promoted run),
-- with the holdout ROC AUC recorded when it was trained and its newest observation date (test_to)
with

runs as (
    select
        model_version,
        roc_auc,
        as_of,
        test_to,
        trained_at
    from analytics.ml_model_runs
    where model_name = %(model_name)s and promoted
)

select
    model_version,
    roc_auc,
    as_of,
    test_to
from runs
order by as_of desc, trained_at desc, model_version desc
limit 1
