-- grain: one row per subscription event (mrr_cents = the person's MRR after it), in order per person
with

subscription_events as (
    select
        user_id,
        event_at,
        event_name,
        plan,
        billing_period,
        mrr_cents,
        message_id
    from core.fact_subscription_events
)

select * from subscription_events
order by user_id, event_at, message_id
