-- grain: one row per calendar month (UTC) with at least one payment event
-- Payments are the valid, deduplicated payment_succeeded / payment_failed track events, whoever they are
-- attributed to; an amount that is not a JSON number counts the payment but adds nothing to the amount.
-- The months of this run's changed payment events are recounted from core.fact_events (through the
-- partial index on payment events); every month while core.aggregate_backfills asks for it.
create temp table billing_months_touched on commit drop as
select distinct date_trunc('month', event_at at time zone 'UTC')::date as month
from core_changes
where event_name in ('payment_succeeded', 'payment_failed') and event_type = 'track'
union
select distinct date_trunc('month', events.event_at at time zone 'UTC')::date as month
from core.fact_events as events
where
    events.event_name in ('payment_succeeded', 'payment_failed')
    and events.event_type = 'track'
    and core.backfill_requested('agg_billing_monthly');

-- its real size for the planner (an unanalyzed temp table is planned as thousands of rows)
analyze billing_months_touched;

-- statistics, so the next statements plan for the few rows it holds (not a scan of all history)
analyze billing_months_touched;

delete from core.agg_billing_monthly as billing
where billing.month in (select touched.month from billing_months_touched as touched);

delete from core.agg_billing_monthly
where core.backfill_requested('agg_billing_monthly');

insert into core.agg_billing_monthly (month, payments_succeeded, collected_cents, payments_failed, failed_cents)

with

payments as (
    select
        events.event_name,
        touched.month,
        case
            when jsonb_typeof(events.properties -> 'amount_cents') = 'number'
                then (events.properties ->> 'amount_cents')::numeric
        end as amount_cents
    from billing_months_touched as touched
    inner join core.fact_events as events
        on
            events.event_at >= touched.month::timestamp at time zone 'UTC'
            and events.event_at < (touched.month + interval '1 month')::timestamp at time zone 'UTC'
    where events.event_name in ('payment_succeeded', 'payment_failed') and events.event_type = 'track'
),

final as (
    select
        month,
        count(*) filter (where event_name = 'payment_succeeded') as payments_succeeded,
        sum(amount_cents) filter (where event_name = 'payment_succeeded') as collected_cents,
        count(*) filter (where event_name = 'payment_failed') as payments_failed,
        sum(amount_cents) filter (where event_name = 'payment_failed') as failed_cents
    from payments
    group by month
)

select * from final;

delete from core.aggregate_backfills
where aggregate = 'agg_billing_monthly';
