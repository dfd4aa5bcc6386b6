-- daily_active_users has one row for every day between its first and last day
select
    count(*) as day_rows,
    max(activity_date) - min(activity_date) + 1 as expected_rows
from analytics.daily_active_users
having count(*) > 0 and count(*) <> max(activity_date) - min(activity_date) + 1
