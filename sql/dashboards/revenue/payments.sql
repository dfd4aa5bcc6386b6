-- one row per month of mrr_monthly: payments collected and failed (amounts; zero in months without any)
with

months as (
    select month
    from analytics.mrr_monthly
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
),

billing as (
    select
        month,
        payments_succeeded,
        amount_collected,
        payments_failed,
        amount_failed
    from analytics.billing_monthly
),

final as (
    select
        months.month,
        coalesce(billing.amount_collected, 0) as amount_collected,
        coalesce(billing.amount_failed, 0) as amount_failed,
        coalesce(billing.payments_succeeded, 0) as payments_succeeded,
        coalesce(billing.payments_failed, 0) as payments_failed
    from months
    left join billing on months.month = billing.month
)

select * from final
order by month
