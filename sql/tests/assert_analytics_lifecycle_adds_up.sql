-- lifecycle: active = new + returning + resurrecting = the distinct persons active in the period,
-- and active(P-1) = returning(P) + dormant(P); the first on every row of the (small) view, the count of
-- active persons recomputed from core for the periods holding a checked date (check_person_days: rebuilt
-- since the checks last passed, every date in a full sweep), through the activity_date index
with

lifecycle as (
    select * from analytics.user_lifecycle
),

kinds as (
    select
        period,
        step
    from core.lifecycle_periods
),

checked_dates as (
    select distinct activity_date from check_person_days
),

checked_periods as (
    select distinct
        kinds.period,
        date_trunc(kinds.period, checked_dates.activity_date::timestamp)::date as period_start,
        (date_trunc(kinds.period, checked_dates.activity_date::timestamp) + kinds.step)::date as period_end
    from checked_dates
    cross join kinds
),

-- each person once per checked period (hashed: a count(distinct) would sort a month of person-days by id)
period_persons as (
    select distinct
        checked_periods.period,
        checked_periods.period_start,
        activity.user_id
    from checked_periods
    inner join core.fact_daily_user_activity as activity
        on
            checked_periods.period_start <= activity.activity_date
            and checked_periods.period_end > activity.activity_date
),

active_in_period as (
    select
        period,
        period_start,
        count(*) as active_persons
    from period_persons
    group by period, period_start
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
    left join checked_periods
        on with_previous.period = checked_periods.period and with_previous.period_start = checked_periods.period_start
    left join active_in_period
        on with_previous.period = active_in_period.period and with_previous.period_start = active_in_period.period_start
    where
        with_previous.active_users
        <> with_previous.new_users + with_previous.returning_users + with_previous.resurrecting_users
        or (
            checked_periods.period is not null
            and with_previous.active_users <> coalesce(active_in_period.active_persons, 0)
        )
        or coalesce(with_previous.previous_active_users, 0)
        <> with_previous.returning_users + with_previous.dormant_users
)

select * from final
