-- grain: one row (or none): the latest month of analytics.mrr_monthly
select * from analytics.mrr_monthly
order by month desc
limit 1
