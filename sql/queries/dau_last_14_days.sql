-- grain: one row per UTC day of the 14 through %(as_of)s that analytics.daily_active_users holds: its DAU
with

days as (
    select
        activity_date,
        dau
    from analytics.daily_active_users
),

final as (
    select
        activity_date as day,
        dau::float8 as dau
    from days
    where activity_date between %(as_of)s::date - 13 and %(as_of)s::date
)

select * from final
order by day
