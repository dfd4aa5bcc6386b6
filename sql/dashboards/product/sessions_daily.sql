-- one row per day: sessions starting that day and the persons having them
select
    activity_date,
    sessions,
    users
from analytics.daily_sessions
where
    true
    [[and activity_date >= {{start_date}}::date]]
    [[and activity_date <= {{end_date}}::date]]
order by activity_date
