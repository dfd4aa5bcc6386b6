-- one row per UTC day per platform: feature uses per active user (days without activity are left out)
with

platform_days as (
    select
        activity_date,
        platform,
        active_users,
        feature_uses
    from analytics.platform_daily_activity
    where
        active_users > 0
        [[and activity_date >= {{start_date}}::date]]
        [[and activity_date <= {{end_date}}::date]]
),

final as (
    select
        activity_date,
        platform,
        round(feature_uses::numeric / active_users, 3) as feature_uses_per_user
    from platform_days
)

select * from final
order by activity_date, platform
