-- arpa (average revenue per account) of the latest month in the period, and of the month before
with

months as (
    select
        month,
        arpa,
        lag(arpa) over (order by month) as previous_arpa
    from analytics.mrr_monthly
),

final as (
    select
        month,
        arpa,
        previous_arpa
    from months
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
    order by month desc
    limit 1
)

select * from final
