-- grain: one row (or none): the latest month of analytics.mrr_monthly
with

months as (
    select * from analytics.mrr_monthly
)

select * from months
order by month desc
limit 1
