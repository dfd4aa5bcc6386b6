-- one row per month: average revenue per account and lifetime value
with

months as (
    select
        month,
        arpa,
        ltv
    from analytics.mrr_monthly
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
)

select * from months
order by month
