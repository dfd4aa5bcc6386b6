-- grain: one row: the latest UTC day with any activity in core (null on an empty warehouse)
with

activity as (
    select activity_date from core.fact_daily_user_activity
)

select max(activity_date) as latest_activity_date
from activity
