-- grain: one row per UTC day per platform, from the first to the latest day with activity (quiet days: 0);
-- a user counts once a day, on the platform they used most that day
-- key: activity_date, platform
-- A thin read of core.agg_platform_daily_activity (sql/core/agg_platform_daily_activity.sql), which the
-- core layer keeps for the days each run changes; here only the quiet day-platforms are filled with zeros.
with

per_day as (
    select
        activity_date,
        platform,
        active_users,
        track_events,
        feature_uses
    from core.agg_platform_daily_activity
),

bounds as (
    select
        min(activity_date) as first_day,
        max(activity_date) as last_day
    from per_day
),

days as (
    select generate_series(first_day, last_day, interval '1 day')::date as activity_date
    from bounds
),

platforms as (
    select distinct platform
    from per_day
),

final as (
    select
        days.activity_date,
        platforms.platform,
        coalesce(per_day.active_users, 0)::integer as active_users,
        coalesce(per_day.track_events, 0)::bigint as track_events,
        coalesce(per_day.feature_uses, 0)::bigint as feature_uses
    from days
    cross join platforms
    left join per_day
        on days.activity_date = per_day.activity_date and platforms.platform = per_day.platform
)

select * from final
