-- grain: one row per subscription event (mrr_cents = the person's MRR after it), in order per person;
-- equal timestamps in load order, the tie-break of every MRR definition (core.fact_mrr_monthly)
with

subscription_events as (
    select
        user_id,
        event_at,
        event_name,
        plan,
        billing_period,
        mrr_cents,
        file_id,
        line_no
    from core.fact_subscription_events
),

final as (
    select
        user_id,
        event_at,
        event_name,
        plan,
        billing_period,
        mrr_cents,
        file_id,
        line_no
    from subscription_events
)

select * from final
order by user_id, event_at, file_id, line_no
