-- grain: one row per subscription_started, subscription_changed or subscription_cancelled event
insert into core.fact_subscription_events (
    message_id, user_id, event_name, event_at, plan, billing_period, mrr_cents, file_id, line_no, reason
)

with

batch as (
    select * from core_batch
),

final as (
    select
        message_id,
        user_id,
        event_name,
        event_at,
        plan,
        billing_period,
        mrr_cents,
        file_id,
        line_no,
        -- why a subscription ended (payment_failed = involuntary churn)
        case when event_name = 'subscription_cancelled' then properties ->> 'reason' end as reason
    from batch
    where mrr_cents is not null
)

select * from final
on conflict (message_id) do nothing;
