-- grain: one row per UTC day from the first day with activity to %(as_of)s: signups, DAU, net new MRR
-- (DAU from analytics.daily_active_users; the spine from core.dim_date; MRR moves from the subscription facts,
-- ordered as core.fact_mrr_monthly orders them, so a month's daily moves sum to mrr_monthly.net_new_mrr)
with

daily_active_users as (
    select
        activity_date,
        dau
    from analytics.daily_active_users
),

calendar as (
    select date_day from core.dim_date
),

users as (
    select signup_date from core.dim_users
    where signup_date is not null
),

subscription_events as (
    select
        user_id,
        event_at,
        file_id,
        line_no,
        mrr_cents
    from core.fact_subscription_events
),

days as (
    select calendar.date_day as day
    from calendar
    where
        calendar.date_day >= (select min(daily_active_users.activity_date) from daily_active_users)
        and calendar.date_day <= %(as_of)s::date
),

signups as (
    select
        signup_date as day,
        count(*) as n
    from users
    group by signup_date
),

dau as (
    select
        activity_date as day,
        dau as n
    from daily_active_users
),

mrr_changes as (
    -- each subscription event's change of the person's MRR (cents); equal timestamps in load order
    select
        (event_at at time zone 'UTC')::date as day,
        mrr_cents
        - coalesce(lag(mrr_cents) over (partition by user_id order by event_at, file_id, line_no), 0) as delta_cents
    from subscription_events
),

mrr as (
    select
        day,
        sum(delta_cents) / 100.0 as net,
        sum((delta_cents / 100.0) ^ 2) as net_sq
    from mrr_changes
    group by day
),

final as (
    select
        days.day,
        coalesce(signups.n, 0)::float8 as signups,
        coalesce(dau.n, 0)::float8 as dau,
        coalesce(mrr.net, 0)::float8 as net_new_mrr,
        coalesce(mrr.net_sq, 0)::float8 as net_new_mrr_movement_sq
    from days
    left join signups on days.day = signups.day
    left join dau on days.day = dau.day
    left join mrr on days.day = mrr.day
)

select * from final
order by day
