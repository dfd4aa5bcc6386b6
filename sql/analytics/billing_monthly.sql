-- grain: one row per month, from the first payment event's month to the latest month with activity
-- key: month
-- A thin read of core.agg_billing_monthly (sql/core/agg_billing_monthly.sql: which events are payments and
-- what they amount to), kept by the core layer for the months each run changes; quiet months are zeros.
with

monthly as (
    select
        month,
        payments_succeeded,
        collected_cents,
        payments_failed,
        failed_cents
    from core.agg_billing_monthly
),

bounds as (
    select
        (select min(monthly.month) from monthly) as first_month,
        -- a payment attributed to nobody is no activity: never drop its month
        greatest(
            (select max(monthly.month) from monthly),
            (select date_trunc('month', max(activity_date))::date from core.fact_daily_user_activity)
        ) as last_month
),

months as (
    select generate_series(first_month, last_month, interval '1 month')::date as month
    from bounds
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
