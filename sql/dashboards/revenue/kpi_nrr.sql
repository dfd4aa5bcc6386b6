-- nrr (net revenue retention) of the latest month in the period, and of the month before
with

months as (
    select
        month,
        nrr,
        lag(nrr) over (order by month) as previous_nrr
    from analytics.mrr_monthly
),

final as (
    select
        month,
        nrr,
        previous_nrr
    from months
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
    order by month desc
    limit 1
)

select * from final
