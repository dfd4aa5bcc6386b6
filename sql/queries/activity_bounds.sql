-- grain: one row: the first and the latest day of analytics.daily_active_users
with

days as (
    select activity_date from analytics.daily_active_users
)

select
    min(activity_date) as first_day,
    max(activity_date) as last_day
from days
