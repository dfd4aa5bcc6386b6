-- dau on the latest day in the period, and on the same weekday a week earlier
with

days as (
    select
        activity_date,
        dau,
        lag(dau, 7) over (order by activity_date) as dau_week_before
    from analytics.daily_active_users
),

final as (
    select
        activity_date,
        dau,
        dau_week_before
    from days
    where
        true
        [[and activity_date >= {{start_date}}::date]]
        [[and activity_date <= {{end_date}}::date]]
    order by activity_date desc
    limit 1
)

select * from final
