-- grain: one row per UTC day per platform with at least one active person (the person's main platform)
-- The days this run's changes touch (activity events that appeared for a person or left one) are
-- recounted from core.fact_daily_user_activity; every day while core.aggregate_backfills asks for it.
create temp table platform_days_touched on commit drop as
select distinct event_date as activity_date
from core_changes
where
    event_type in ('track', 'page', 'screen')
    and (user_id is not null or previous_user_id is not null)
union
select activity.activity_date
from core.fact_daily_user_activity as activity
where core.backfill_requested('agg_platform_daily_activity');

-- its real size for the planner (an unanalyzed temp table is planned as thousands of rows)
analyze platform_days_touched;

-- statistics, so the next statements plan for the few rows it holds (not a scan of all history)
analyze platform_days_touched;

delete from core.agg_platform_daily_activity as platforms
where platforms.activity_date in (select touched.activity_date from platform_days_touched as touched);

delete from core.agg_platform_daily_activity
where core.backfill_requested('agg_platform_daily_activity');

insert into core.agg_platform_daily_activity (activity_date, platform, active_users, track_events, feature_uses)

with

activity as (
    select
        activity.activity_date,
        activity.track_events,
        activity.feature_uses,
        coalesce(activity.platform, 'unknown') as platform
    from core.fact_daily_user_activity as activity
    inner join platform_days_touched as touched on activity.activity_date = touched.activity_date
),

-- a user counts once a day, on the platform they used most that day
final as (
    select
        activity_date,
        platform,
        count(*) as active_users,
        sum(track_events) as track_events,
        sum(feature_uses) as feature_uses
    from activity
    group by activity_date, platform
)

select * from final;

delete from core.aggregate_backfills
where aggregate = 'agg_platform_daily_activity';
