-- grain: one row per person per UTC day with at least one valid track, page or screen event
-- The person-days this run's changes touch (new events, and events a late link moved from one person to
-- another) are rebuilt from fact_events; events of nobody are not activity.
create temp table daily_activity_touched on commit drop as
select
    user_id,
    event_date
from core_changes
where event_type in ('track', 'page', 'screen') and user_id is not null
union
select
    previous_user_id as user_id,
    event_date
from core_changes
where event_type in ('track', 'page', 'screen') and previous_user_id is not null;

-- statistics, so the next statements plan for the few rows it holds (not a scan of all history)
analyze daily_activity_touched;

-- the touched person-days that were active before this run (agg_user_lifecycle counts what changed)
create temp table daily_activity_before on commit drop as
select
    touched.user_id,
    touched.event_date
from daily_activity_touched as touched
inner join core.fact_daily_user_activity as activity
    on touched.user_id = activity.user_id and touched.event_date = activity.activity_date;

delete from core.fact_daily_user_activity as activity
using daily_activity_touched as touched
where activity.user_id = touched.user_id and activity.activity_date = touched.event_date;

insert into core.fact_daily_user_activity (
    user_id, activity_date, activity_events, track_events, feature_uses, distinct_features, document_events,
    first_event_at, last_event_at, platform
)

with

-- in person-day order: each person-day's events are then looked up together, and the grouping below needs one
-- small sort per person-day (on the presorted person-day), not one sort of every event
touched as (
    select
        user_id,
        event_date
    from daily_activity_touched
    order by user_id, event_date
),

activity_events as (
    select
        touched.user_id,
        touched.event_date,
        events.event_type,
        events.event_name,
        events.event_at,
        events.feature,
        events.document_id,
        events.platform
    from touched
    inner join core.fact_events as events
        on touched.user_id = events.user_id and touched.event_date = events.event_date
    where events.event_type in ('track', 'page', 'screen')
),

final as (
    select
        user_id,
        event_date as activity_date,
        count(*) as activity_events,
        count(*) filter (where event_type = 'track') as track_events,
        count(*) filter (where event_name = 'feature_used') as feature_uses,
        count(distinct feature) as distinct_features,
        count(document_id) as document_events,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at,
        -- the platform the person used most that day
        mode() within group (order by platform) as platform
    from activity_events
    group by user_id, event_date
)

select * from final;
