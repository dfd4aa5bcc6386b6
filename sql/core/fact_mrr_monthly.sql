-- grain: one row per person per month, from the month of their first subscription event to the latest
-- month with activity: MRR at the month's end, at the end of the month before, the movement between them
-- Steps: carry every person forward when the latest month advances; rebuild the persons in mrr_changes
-- from core.fact_subscription_events; drop months past the latest month; advance this table's watermark.

-- 1. the latest month advanced: persons with no new subscription event keep their MRR, with no movement
insert into core.fact_mrr_monthly (
    month, user_id, mrr_cents, previous_mrr_cents, movement, movement_cents, first_paid_month, is_involuntary
)

with

bounds as (
    select
        (select max(mrr.month) from core.fact_mrr_monthly as mrr) as built_month,
        (select date_trunc('month', max(activity.activity_date))::date from core.fact_daily_user_activity as activity)
            as last_month
),

latest_rows as (
    select
        mrr.user_id,
        mrr.mrr_cents,
        mrr.first_paid_month,
        bounds.built_month,
        bounds.last_month
    from core.fact_mrr_monthly as mrr
    inner join bounds on mrr.month = bounds.built_month
    where bounds.built_month < bounds.last_month
),

final as (
    select
        months.month::date as month,
        latest_rows.user_id,
        latest_rows.mrr_cents,
        latest_rows.mrr_cents as previous_mrr_cents,
        'none' as movement,
        0 as movement_cents,
        latest_rows.first_paid_month,
        false as is_involuntary
    from latest_rows
    cross join lateral generate_series(
        latest_rows.built_month + interval '1 month', latest_rows.last_month, interval '1 month'
    ) as months (month)
)

select * from final;

-- 2. forget the rows to rebuild, and any month past the latest month with activity (each an index scan)
delete from core.fact_mrr_monthly as mrr
using mrr_changes
where mrr.user_id = mrr_changes.user_id;

delete from core.fact_mrr_monthly as mrr
where mrr.month > coalesce(
        (select date_trunc('month', max(activity.activity_date))::date from core.fact_daily_user_activity as activity),
        '-infinity'::date
    );

-- 3. rebuild the changed persons from all their subscription events
insert into core.fact_mrr_monthly (
    month, user_id, mrr_cents, previous_mrr_cents, movement, movement_cents, first_paid_month, is_involuntary
)

with

bounds as (
    select date_trunc('month', max(activity_date))::date as last_month
    from core.fact_daily_user_activity
),

subscription_events as (
    select
        subscriptions.user_id,
        subscriptions.event_name,
        subscriptions.event_at,
        subscriptions.mrr_cents,
        subscriptions.reason,
        subscriptions.file_id,
        subscriptions.line_no,
        date_trunc('month', subscriptions.event_at at time zone 'UTC')::date as event_month
    from core.fact_subscription_events as subscriptions
    inner join mrr_changes on subscriptions.user_id = mrr_changes.user_id
),

-- a person's MRR at a month's end is set by their latest event of that month (ties: the later loaded wins)
month_closing_events as (
    select distinct on (user_id, event_month)
        user_id,
        event_month,
        mrr_cents,
        event_name = 'subscription_cancelled' and coalesce(reason = 'payment_failed', false) as is_failed_payment
    from subscription_events
    order by user_id asc, event_month asc, event_at desc, file_id desc, line_no desc
),

persons as (
    select
        user_id,
        min(event_month) as first_month
    from month_closing_events
    group by user_id
),

person_months as (
    select
        persons.user_id,
        months.month::date as month
    from persons
    cross join bounds
    cross join lateral generate_series(persons.first_month, bounds.last_month, interval '1 month')
        as months (month)
),

with_closing_events as (
    select
        person_months.user_id,
        person_months.month,
        month_closing_events.mrr_cents,
        coalesce(month_closing_events.is_failed_payment, false) as is_failed_payment,
        count(month_closing_events.mrr_cents) over (
            partition by person_months.user_id order by person_months.month
        ) as closing_event_group
    from person_months
    left join month_closing_events
        on person_months.user_id = month_closing_events.user_id
            and person_months.month = month_closing_events.event_month
),

-- months without an event carry the last known MRR forward
month_end_mrr as (
    select
        user_id,
        month,
        is_failed_payment,
        first_value(mrr_cents) over (partition by user_id, closing_event_group order by month) as mrr_cents
    from with_closing_events
),

with_history as (
    select
        user_id,
        month,
        mrr_cents,
        is_failed_payment,
        coalesce(lag(mrr_cents) over by_month, 0) as previous_mrr_cents,
        coalesce(max(mrr_cents) over (by_month rows between unbounded preceding and 1 preceding), 0)
            as highest_earlier_cents,
        min(month) filter (where mrr_cents > 0) over (partition by user_id) as first_paid_month
    from month_end_mrr
    window by_month as (partition by user_id order by month)
),

movements as (
    select
        *,
        case
            when previous_mrr_cents = 0 and mrr_cents > 0 and highest_earlier_cents = 0 then 'new'
            when previous_mrr_cents = 0 and mrr_cents > 0 then 'reactivation'
            when previous_mrr_cents > 0 and mrr_cents = 0 then 'churned'
            when previous_mrr_cents > 0 and mrr_cents > previous_mrr_cents then 'expansion'
            when previous_mrr_cents > 0 and mrr_cents < previous_mrr_cents then 'contraction'
            else 'none'
        end as movement
    from with_history
),

final as (
    select
        month,
        user_id,
        mrr_cents,
        previous_mrr_cents,
        movement,
        case movement
            when 'new' then mrr_cents
            when 'reactivation' then mrr_cents
            when 'expansion' then mrr_cents - previous_mrr_cents
            when 'contraction' then previous_mrr_cents - mrr_cents
            when 'churned' then previous_mrr_cents
            else 0
        end as movement_cents,
        first_paid_month,
        -- involuntary churn: the subscription ended because a payment failed
        movement = 'churned' and is_failed_payment as is_involuntary
    from movements
)

select * from final;

-- 4. the table now holds everything core holds
update core.watermarks
set
    last_staged_seq = coalesce(
        (select max(core_batch.staged_seq) from core_batch),
        (
            select core_step.last_staged_seq from core.watermarks as core_step
            where core_step.step = 'core'
        )
    ),
    updated_at = now()
where step = 'fact_mrr_monthly';
