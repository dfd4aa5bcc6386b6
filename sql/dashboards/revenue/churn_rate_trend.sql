-- one row per month: the share of the month's starting customers who churned
with

months as (
    select
        month,
        customer_churn_rate
    from analytics.mrr_monthly
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
)

select * from months
order by month
