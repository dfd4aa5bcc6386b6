-- one row per UTC day: stickiness = DAU / MAU
with

days as (
    select
        activity_date,
        stickiness
    from analytics.daily_active_users
    where
        true
        [[and activity_date >= {{start_date}}::date]]
        [[and activity_date <= {{end_date}}::date]]
)

select * from days
order by activity_date
