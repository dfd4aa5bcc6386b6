-- grain: one row (or none): DAU, WAU, MAU and stickiness of the latest day in analytics.daily_active_users
select * from analytics.daily_active_users
order by activity_date desc
limit 1
