-- grain: one row per user per UTC day with at least one valid track event
-- The user-days this run's track events touch are rebuilt from fact_events (late events included).
delete from core.fact_daily_user_activity as activity
using (
    select distinct
        user_id,
        event_date
    from core_batch
    where event_type = 'track'
) as touched
where activity.user_id = touched.user_id and activity.activity_date = touched.event_date;

insert into core.fact_daily_user_activity (
    user_id, activity_date, track_events, feature_uses, distinct_features, document_events,
    first_event_at, last_event_at, platform
)

with

touched as (
    select distinct
        user_id,
        event_date
    from core_batch
    where event_type = 'track'
),

track_events as (
    select events.*
    from core.fact_events as events
    inner join touched
        on events.user_id = touched.user_id and events.event_date = touched.event_date
    where events.event_type = 'track'
),

final as (
    select
        user_id,
        event_date as activity_date,
        count(*) as track_events,
        count(*) filter (where event_name = 'feature_used') as feature_uses,
        count(distinct feature) as distinct_features,
        count(document_id) as document_events,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at,
        -- the platform the user used most that day
        mode() within group (order by platform) as platform
    from track_events
    group by user_id, event_date
)

select * from final;
