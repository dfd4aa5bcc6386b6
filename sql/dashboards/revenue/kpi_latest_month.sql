-- the retention, churn and value rates of the latest month in the period, and of the month before
-- (one query for the NRR, GRR, churn rate, quick ratio, ARPA and LTV cards: each shows its own column)
with

months as (
    select
        month,
        nrr,
        grr,
        customer_churn_rate,
        quick_ratio,
        arpa,
        ltv,
        lag(nrr) over (order by month) as previous_nrr,
        lag(grr) over (order by month) as previous_grr,
        lag(customer_churn_rate) over (order by month) as previous_customer_churn_rate,
        lag(quick_ratio) over (order by month) as previous_quick_ratio,
        lag(arpa) over (order by month) as previous_arpa,
        lag(ltv) over (order by month) as previous_ltv
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
