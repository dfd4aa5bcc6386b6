-- grain: one row per month, from the first payment event's month to the latest month with activity
-- key: month
-- Payments are the valid, deduplicated payment_succeeded / payment_failed track events; an amount that is
-- not a JSON number counts the payment but adds nothing to the amount.
with

payments as (
    select
        event_name,
        date_trunc('month', event_at at time zone 'UTC')::date as month,
        case
            when jsonb_typeof(properties -> 'amount_cents') = 'number' then (properties ->> 'amount_cents')::numeric
        end as amount_cents
    from core.fact_events
    where event_name in ('payment_succeeded', 'payment_failed') and event_type = 'track'
),

bounds as (
    select
        (select min(month) from payments) as first_month,
        -- a payment attributed to nobody is no activity: never drop its month
        greatest(
            (select max(month) from payments),
            (select date_trunc('month', max(activity_date))::date from core.fact_daily_user_activity)
        ) as last_month
),

months as (
    select generate_series(first_month, last_month, interval '1 month')::date as month
    from bounds
),

monthly as (
    select
        month,
        count(*) filter (where event_name = 'payment_succeeded') as payments_succeeded,
        sum(amount_cents) filter (where event_name = 'payment_succeeded') as collected_cents,
        count(*) filter (where event_name = 'payment_failed') as payments_failed,
        sum(amount_cents) filter (where event_name = 'payment_failed') as failed_cents
    from payments
    group by month
),

final as (
    select
        months.month,
        coalesce(monthly.payments_succeeded, 0)::integer as payments_succeeded,
        (coalesce(monthly.collected_cents, 0) / 100.0)::numeric(14, 2) as amount_collected,
        coalesce(monthly.payments_failed, 0)::integer as payments_failed,
        (coalesce(monthly.failed_cents, 0) / 100.0)::numeric(14, 2) as amount_failed,
        round(
            monthly.payments_failed::numeric / nullif(monthly.payments_succeeded + monthly.payments_failed, 0), 6
        ) as payment_failure_rate
    from months
    left join monthly on months.month = monthly.month
)

select * from final
