-- one row per month: MRR and ARR at the month's end, and the MRR movements; contraction and churn are
-- negative so they stack below zero (one query for the MRR and ARR and MRR movements cards)
with

months as (
    select
        month,
        mrr,
        arr,
        new_mrr,
        expansion_mrr,
        reactivation_mrr,
        -contraction_mrr as contraction_mrr,
        -churned_mrr as churned_mrr
    from analytics.mrr_monthly
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
)

select * from months
order by month
