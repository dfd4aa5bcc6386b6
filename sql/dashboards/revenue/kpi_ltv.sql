-- ltv (lifetime value) of the latest month in the period, and of the month before
with

months as (
    select
        month,
        ltv,
        lag(ltv) over (order by month) as previous_ltv
    from analytics.mrr_monthly
),

final as (
    select
        month,
        ltv,
        previous_ltv
    from months
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
    order by month desc
    limit 1
)

select * from final
