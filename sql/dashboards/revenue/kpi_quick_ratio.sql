-- quick_ratio (quick ratio) of the latest month in the period, and of the month before
with

months as (
    select
        month,
        quick_ratio,
        lag(quick_ratio) over (order by month) as previous_quick_ratio
    from analytics.mrr_monthly
),

final as (
    select
        month,
        quick_ratio,
        previous_quick_ratio
    from months
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
    order by month desc
    limit 1
)

select * from final
