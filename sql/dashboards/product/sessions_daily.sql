-- one row per day: sessions starting that day, the persons having them, mean events per session and
-- median session length (one query for the Sessions per day and Session depth cards)
select
    activity_date,
    sessions,
    users,
    avg_events_per_session,
    median_session_seconds
from analytics.daily_sessions
where
    true
    [[and activity_date >= {{start_date}}::date]]
    [[and activity_date <= {{end_date}}::date]]
order by activity_date
