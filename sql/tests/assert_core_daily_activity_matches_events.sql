-- fact_daily_user_activity has exactly the person-days (and counts) of valid track, page and screen events
-- (checked: the person-days of check_person_days — rebuilt since the checks last passed, or every
-- person-day in a full sweep; their events from check_activity)
with

from_events as (
    select
        events.user_id,
        events.event_date as activity_date,
        count(*) as activity_events,
        count(*) filter (where events.event_type = 'track') as track_events
    from check_activity as events
    inner join check_person_days as checked
        on events.user_id = checked.user_id and events.event_date = checked.activity_date
    group by events.user_id, events.event_date
),

activity as (
    select
        activity.user_id,
        activity.activity_date,
        activity.activity_events,
        activity.track_events
    from core.fact_daily_user_activity as activity
    inner join check_person_days as checked
        on activity.user_id = checked.user_id and activity.activity_date = checked.activity_date
),

final as (
    select
        coalesce(from_events.user_id, activity.user_id) as user_id,
        coalesce(from_events.activity_date, activity.activity_date) as activity_date,
        from_events.activity_events as expected,
        activity.activity_events as actual,
        from_events.track_events as expected_track,
        activity.track_events as actual_track
    from from_events
    full outer join activity
        on from_events.user_id = activity.user_id and from_events.activity_date = activity.activity_date
    where
        from_events.activity_events is distinct from activity.activity_events
        or from_events.track_events is distinct from activity.track_events
)

select * from final
