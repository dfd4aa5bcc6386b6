-- one row per month: retention, churn and value rates, and churned MRR split into voluntary and
-- involuntary (failed payment) below zero
-- (one query for the NRR/GRR, churn rate, quick ratio, ARPA/LTV and churn-by-type trend cards: each
-- shows its own columns)
with

months as (
    select
        month,
        nrr,
        grr,
        customer_churn_rate,
        quick_ratio,
        arpa,
        ltv,
        -(churned_mrr - churned_mrr_involuntary) as churned_voluntary,
        -churned_mrr_involuntary as churned_involuntary
    from analytics.mrr_monthly
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
)

select * from months
order by month
