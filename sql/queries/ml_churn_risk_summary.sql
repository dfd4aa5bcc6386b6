-- grain: one row per as_of and model version of the current churn scores: users, high-risk users and their MRR
with

scores as (
    select
        as_of,
        model_version,
        risk_band,
        mrr
    from analytics.churn_risk_scores
),

final as (
    select
        as_of,
        model_version,
        count(*) as users,
        count(*) filter (where risk_band = 'high') as high,
        count(*) filter (where risk_band = 'high' and mrr > 0) as high_paying,
        coalesce(sum(mrr) filter (where risk_band = 'high'), 0) as high_mrr
    from scores
    group by as_of, model_version
)

select * from final
