-- grain: statements; the inputs of core's dimension steps (sql/core/dim_accounts.sql, dim_features.sql,
-- dim_plans.sql read core_batch; dim_documents.sql reads core_inserted) for a correction's second pass: every
-- remaining core event of a key whose row withdraw_dimensions deleted, in place of the run's batch (spent by now).
-- The core steps then merge each deleted key again from all its events, by the rules of a daily run.
drop table core_batch, core_inserted;

create temp table core_batch on commit drop as

with

withdrawn as (
    select
        feature,
        plan,
        group_id,
        event_type
    from withdrawn_events
),

-- dim_features reads a feature_used event's feature
feature_uses as (
    select
        events.feature,
        events.event_at
    from core.fact_events as events
    where events.feature in (select withdrawn.feature from withdrawn)
),

-- dim_plans reads a subscription event's plan, billing period and MRR, as core_batch.sql takes them from properties
subscriptions as (
    select
        events.properties ->> 'plan' as plan,
        events.properties ->> 'billing_period' as billing_period,
        (events.properties ->> 'mrr_cents')::bigint as mrr_cents,
        events.event_at
    from core.fact_events as events
    where
        events.event_name in ('subscription_started', 'subscription_changed', 'subscription_cancelled')
        and events.properties ->> 'plan' in (select withdrawn.plan from withdrawn)
),

-- dim_accounts reads a group call's traits, from its raw line (raw's key) as core_batch.sql does
group_calls as (
    select
        events.event_type,
        events.group_id,
        staging.event_object(raw_lines.payload, 'traits') as traits,
        events.event_at,
        events.file_id,
        events.line_no
    from core.fact_events as events
    inner join raw.events as raw_lines on events.file_id = raw_lines.file_id and events.line_no = raw_lines.line_no
    where
        events.event_type = 'group'
        and events.group_id in (
            select withdrawn.group_id from withdrawn
            where withdrawn.event_type = 'group'
        )
),

final as (
    select
        null::text as event_type,
        feature,
        null::text as plan,
        null::text as billing_period,
        null::bigint as mrr_cents,
        null::text as group_id,
        null::jsonb as traits,
        event_at,
        null::bigint as file_id,
        null::integer as line_no
    from feature_uses
    union all
    select
        null::text as event_type,
        null::text as feature,
        plan,
        billing_period,
        mrr_cents,
        null::text as group_id,
        null::jsonb as traits,
        event_at,
        null::bigint as file_id,
        null::integer as line_no
    from subscriptions
    union all
    select
        event_type,
        null::text as feature,
        null::text as plan,
        null::text as billing_period,
        null::bigint as mrr_cents,
        group_id,
        traits,
        event_at,
        file_id,
        line_no
    from group_calls
)

select * from final;

-- dim_documents reads a document event with its person as core.fact_events holds it now (the run's
-- core_reattributed, which it also reads, holds the same person for the events the run moved)
create temp table core_inserted on commit drop as

with

documents as (
    select distinct document_id
    from withdrawn_events
    where document_id is not null
),

final as (
    select
        events.message_id,
        events.user_id,
        events.document_id,
        events.event_at,
        events.file_id,
        events.line_no
    from core.fact_events as events
    inner join documents on events.document_id = documents.document_id
)

select * from final;
