-- customer_churn_rate (customer churn rate) of the latest month in the period, and of the month before
with

months as (
    select
        month,
        customer_churn_rate,
        lag(customer_churn_rate) over (order by month) as previous_customer_churn_rate
    from analytics.mrr_monthly
),

final as (
    select
        month,
        customer_churn_rate,
        previous_customer_churn_rate
    from months
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
    order by month desc
    limit 1
)

select * from final
