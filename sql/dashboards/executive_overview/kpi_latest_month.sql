-- mrr, arr and customers at the end of the latest month in the period, and at the end of the month before
-- (one query for the MRR, ARR and Paying customers cards: each shows its own column)
with

months as (
    select
        month,
        mrr,
        arr,
        customers,
        lag(mrr) over (order by month) as previous_mrr,
        lag(arr) over (order by month) as previous_arr,
        lag(customers) over (order by month) as previous_customers
    from analytics.mrr_monthly
),

final as (
    select * from months
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
)

select * from final
order by month desc
limit 1
