-- customers at the end of the latest month in the period, and at the end of the month before
with

months as (
    select
        month,
        customers,
        lag(customers) over (order by month) as previous_customers
    from analytics.mrr_monthly
),

final as (
    select
        month,
        customers,
        previous_customers
    from months
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
    order by month desc
    limit 1
)

select * from final
