-- fact_daily_user_activity has exactly the user-days (and counts) of valid track events
with

from_events as (
    select
        user_id,
        event_date as activity_date,
        count(*) as track_events
    from core.fact_events
    where event_type = 'track'
    group by user_id, event_date
),

final as (
    select
        coalesce(from_events.user_id, activity.user_id) as user_id,
        coalesce(from_events.activity_date, activity.activity_date) as activity_date,
        from_events.track_events as expected,
        activity.track_events as actual
    from from_events
    full outer join core.fact_daily_user_activity as activity
        on from_events.user_id = activity.user_id and from_events.activity_date = activity.activity_date
    where from_events.track_events is distinct from activity.track_events
)

select * from final
