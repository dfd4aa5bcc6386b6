-- one row per month: churned MRR split into voluntary and involuntary (failed payment), below zero
with

months as (
    select
        month,
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
