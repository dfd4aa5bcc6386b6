-- grain: statements; dimensions keyed by feature, document or plan that a withdrawn event touched are
-- rebuilt from the core facts (their min/max merges cannot forget an event)
delete from core.dim_features
where feature in (select feature from withdrawn_events);

insert into core.dim_features (feature, first_used_at, last_used_at)
select
    feature,
    min(event_at) as first_used_at,
    max(event_at) as last_used_at
from core.fact_events
where feature in (select withdrawn_events.feature from withdrawn_events)
group by feature;

delete from core.dim_documents
where document_id in (select document_id from withdrawn_events);

insert into core.dim_documents (document_id, first_user_id, first_event_at, last_event_at)
select
    document_id,
    (array_agg(user_id order by event_at, file_id, line_no))[1] as first_user_id,
    min(event_at) as first_event_at,
    max(event_at) as last_event_at
from core.fact_events
where document_id in (select withdrawn_events.document_id from withdrawn_events)
group by document_id;

delete from core.dim_plans
where plan in (select withdrawn_events.plan from withdrawn_events);

insert into core.dim_plans (plan, billing_period, min_mrr_cents, max_mrr_cents, first_seen_at)
select
    plan,
    max(billing_period) as billing_period,
    min(mrr_cents) as min_mrr_cents,
    max(mrr_cents) as max_mrr_cents,
    min(event_at) as first_seen_at
from core.fact_subscription_events
where plan in (select withdrawn_events.plan from withdrawn_events)
group by plan;
