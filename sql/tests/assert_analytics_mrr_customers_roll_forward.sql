-- every month: customers(m-1) + new + reactivated - churned = customers(m), and customers_start = customers(m-1)
with

months as (
    select
        *,
        coalesce(lag(customers) over (order by month), 0) as previous_customers
    from analytics.mrr_monthly
),

final as (
    select
        month,
        previous_customers,
        customers_start,
        new_customers,
        reactivated_customers,
        churned_customers,
        customers
    from months
    where
        previous_customers + new_customers + reactivated_customers - churned_customers <> customers
        or customers_start <> previous_customers
)

select * from final
