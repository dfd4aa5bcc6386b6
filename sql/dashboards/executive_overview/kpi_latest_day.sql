-- dau, mau and stickiness on the latest day in the period, and on the same weekday a week earlier
-- (one query for the DAU, MAU and Stickiness cards: each shows its own column)
with

days as (
    select
        activity_date,
        dau,
        mau,
        stickiness,
        lag(dau, 7) over (order by activity_date) as dau_week_before,
        lag(mau, 7) over (order by activity_date) as mau_week_before,
        lag(stickiness, 7) over (order by activity_date) as stickiness_week_before
    from analytics.daily_active_users
),

final as (
    select * from days
    where
        true
        [[and activity_date >= {{start_date}}::date]]
        [[and activity_date <= {{end_date}}::date]]
)

select * from final
order by activity_date desc
limit 1
