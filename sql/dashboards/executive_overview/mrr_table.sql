-- one row per month: revenue and its roll-forward, latest month first
with

months as (
    select
        month,
        mrr,
        arr,
        customers,
        new_mrr,
        expansion_mrr,
        reactivation_mrr,
        contraction_mrr,
        churned_mrr,
        net_new_mrr
    from analytics.mrr_monthly
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
)

select * from months
order by month desc
