-- grain: one row: total MRR (currency) at the instant %(cutoff)s, each person's latest subscription event before it
with

latest_per_person as (
    select distinct on (user_id) mrr_cents
    from core.fact_subscription_events
    where event_at < %(cutoff)s
    order by user_id asc, event_at desc, message_id desc
)

select coalesce(sum(mrr_cents), 0) / 100.0 as total_mrr
from latest_per_person
