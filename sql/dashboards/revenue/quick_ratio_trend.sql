-- one row per month: MRR gained (new + reactivation + expansion) per MRR lost
with

months as (
    select
        month,
        quick_ratio
    from analytics.mrr_monthly
    where
        true
        [[and month >= date_trunc('month', {{start_date}}::date)]]
        [[and month <= {{end_date}}::date]]
)

select * from months
order by month
