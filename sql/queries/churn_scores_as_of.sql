-- grain: one row per scored person on %(as_of)s: risk band, MRR and churn probability
with

scores as (
    select
        risk_band,
        mrr,
        churn_probability
    from analytics.churn_risk_score_history
    where as_of = %(as_of)s
)

select * from scores
