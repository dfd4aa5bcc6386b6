-- grain: one row (or none): how the model version %(model_version)s was judged when it was trained
with

runs as (
    select
        model_version,
        champion_version,
        champion_roc_auc,
        promoted,
        decision
    from analytics.ml_model_runs
)

select
    champion_version,
    champion_roc_auc,
    promoted,
    decision
from runs
where model_version = %(model_version)s
