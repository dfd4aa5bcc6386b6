-- one row per day: mean events per session and median session length
select
    activity_date,
    avg_events_per_session,
    median_session_seconds
from analytics.daily_sessions
where
    true
    [[and activity_date >= {{start_date}}::date]]
    [[and activity_date <= {{end_date}}::date]]
order by activity_date
