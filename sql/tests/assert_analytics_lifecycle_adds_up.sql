-- lifecycle: active = new + returning + resurrecting = the distinct persons active in the period,
-- and active(P-1) = returning(P) + dormant(P)
with

lifecycle as (
    select * from analytics.user_lifecycle
),

kinds as (
    select distinct period from lifecycle
),

active_in_period as (
    select
        kinds.period,
        date_trunc(kinds.period, activity.activity_date::timestamp)::date as period_start,
        count(distinct activity.user_id) as active_persons
    from core.fact_daily_user_activity as activity
    cross join kinds
    group by 1, 2
),

with_previous as (
    select
        *,
        lag(active_users) over (partition by period order by period_start) as previous_active_users
    from lifecycle
),

final as (
    select
        with_previous.period,
        with_previous.period_start,
        with_previous.active_users,
        with_previous.new_users,
        with_previous.returning_users,
        with_previous.resurrecting_users,
        with_previous.dormant_users,
        with_previous.previous_active_users,
        active_in_period.active_persons
    from with_previous
    left join active_in_period
        on with_previous.period = active_in_period.period and with_previous.period_start = active_in_period.period_start
    where
        with_previous.active_users
        <> with_previous.new_users + with_previous.returning_users + with_previous.resurrecting_users
        or with_previous.active_users <> coalesce(active_in_period.active_persons, 0)
        or coalesce(with_previous.previous_active_users, 0)
        <> with_previous.returning_users + with_previous.dormant_users
)

select * from final
