-- fact_daily_user_activity has exactly the person-days (and counts) of valid track, page and screen events
with

from_events as (
    select
        user_id,
        event_date as activity_date,
        count(*) as activity_events,
        count(*) filter (where event_type = 'track') as track_events
    from core.fact_events
    where event_type in ('track', 'page', 'screen') and user_id is not null
    group by user_id, event_date
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
    full outer join core.fact_daily_user_activity as activity
        on from_events.user_id = activity.user_id and from_events.activity_date = activity.activity_date
    where
        from_events.activity_events is distinct from activity.activity_events
        or from_events.track_events is distinct from activity.track_events
)

select * from final
