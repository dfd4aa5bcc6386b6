-- one row per UTC day: daily, weekly (7-day) and monthly (30-day) active users
with

days as (
    select
        activity_date,
        dau,
        wau,
        mau
    from analytics.daily_active_users
    where
        true
        [[and activity_date >= {{start_date}}::date]]
        [[and activity_date <= {{end_date}}::date]]
)

select * from days
order by activity_date
