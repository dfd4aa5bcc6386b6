-- grain: one row per plan name seen in subscription events
insert into core.dim_plans (plan, billing_period, min_mrr_cents, max_mrr_cents, first_seen_at)

with

subscriptions as (
    select
        plan,
        billing_period,
        mrr_cents,
        event_at
    from core_batch
    where mrr_cents is not null and plan is not null
),

final as (
    select
        plan,
        max(billing_period) as billing_period,
        min(mrr_cents) as min_mrr_cents,
        max(mrr_cents) as max_mrr_cents,
        min(event_at) as first_seen_at
    from subscriptions
    group by plan
)

select * from final

-- the merge is the aggregate over both (max ignores a missing period, as greatest does): two runs give what one gives
on conflict (plan) do update set
    billing_period = greatest(dim_plans.billing_period, excluded.billing_period),
    min_mrr_cents = least(dim_plans.min_mrr_cents, excluded.min_mrr_cents),
    max_mrr_cents = greatest(dim_plans.max_mrr_cents, excluded.max_mrr_cents),
    first_seen_at = least(dim_plans.first_seen_at, excluded.first_seen_at);
