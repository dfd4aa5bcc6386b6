-- one row per month: net and gross revenue retention against the MRR at the month's start
with

months as (
    select
        month,
        nrr,
        grr
    from analytics.mrr_monthly
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
)

select * from months
order by month
