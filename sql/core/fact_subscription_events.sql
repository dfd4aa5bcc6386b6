-- grain: one row per subscription_started, subscription_changed or subscription_cancelled event of a person
-- Events a late link re-attributed are written again with their new person (or dropped: nobody).
delete from core.fact_subscription_events as subscriptions
using core_reattributed
where subscriptions.message_id = core_reattributed.message_id;

insert into core.fact_subscription_events (
    message_id, user_id, event_name, event_at, plan, billing_period, mrr_cents, file_id, line_no, reason
)

with

changes as (
    select message_id from core_changes
),

subscription_events as (
    select events.*
    from core.fact_events as events
    inner join changes on events.message_id = changes.message_id
    where
        events.event_type = 'track'
        and events.event_name in ('subscription_started', 'subscription_changed', 'subscription_cancelled')
        and events.user_id is not null
),

final as (
    select
        message_id,
        user_id,
        event_name,
        event_at,
        properties ->> 'plan' as plan,
        properties ->> 'billing_period' as billing_period,
        (properties ->> 'mrr_cents')::bigint as mrr_cents,
        file_id,
        line_no,
        -- why a subscription ended (payment_failed = involuntary churn)
        case when event_name = 'subscription_cancelled' then properties ->> 'reason' end as reason
    from subscription_events
)

select * from final
on conflict (message_id) do nothing;
