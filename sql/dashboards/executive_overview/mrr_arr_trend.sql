-- one row per month: MRR and ARR at the month's end
with

months as (
    select
        month,
        mrr,
        arr
    from analytics.mrr_monthly
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
)

select * from months
order by month
