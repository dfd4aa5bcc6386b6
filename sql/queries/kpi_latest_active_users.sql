-- grain: one row (or none): DAU, WAU, MAU and stickiness of the latest day in analytics.daily_active_users
with

days as (
    select
        activity_date,
        dau,
        wau,
        mau,
        stickiness
    from analytics.daily_active_users
)

select * from days
order by activity_date desc
limit 1
