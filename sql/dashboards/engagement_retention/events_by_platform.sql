-- one row per platform: valid track events in the period
with

platform_days as (
    select
        platform,
        track_events
    from analytics.platform_daily_activity
    where
        true
        [[and activity_date >= {{start_date}}::date]]
        [[and activity_date <= {{end_date}}::date]]
),

final as (
    select
        platform,
        sum(track_events) as track_events
    from platform_days
    group by platform
)

select * from final
order by track_events desc
