-- one row per UTC day per platform: active users
with

platform_days as (
    select
        activity_date,
        platform,
        active_users
    from analytics.platform_daily_activity
    where
        true
        [[and activity_date >= {{start_date}}::date]]
        [[and activity_date <= {{end_date}}::date]]
)

select * from platform_days
order by activity_date, platform
