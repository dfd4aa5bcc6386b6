-- grain: statements; dimensions keyed by feature, document, plan or account that a withdrawn event touched
-- are rebuilt from the core facts (their min/max merges cannot forget an event)
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
-- as sql/core/dim_documents.sql counts them: events of persons only (an event of nobody names no first user)
where document_id in (select withdrawn_events.document_id from withdrawn_events) and user_id is not null
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

-- accounts a withdrawn group call named: rebuilt from every remaining group call (the latest one's traits)
delete from core.dim_accounts
where account_id in (
        select withdrawn_events.group_id
        from withdrawn_events
        where withdrawn_events.event_type = 'group'
    );

insert into core.dim_accounts (account_id, account_name, first_seen_at, last_seen_at, traits, traits_updated_at)

with

group_calls as (
    select
        events.group_id,
        events.event_at,
        -- the group call's traits from its raw line (raw's key), as staging.event_object defines them
        staging.event_object(raw_lines.payload, 'traits') as traits,
        events.file_id,
        events.line_no
    from core.fact_events as events
    inner join raw.events as raw_lines on events.file_id = raw_lines.file_id and events.line_no = raw_lines.line_no
    where
        events.event_type = 'group'
        and events.group_id in (
            select withdrawn_events.group_id from withdrawn_events
            where withdrawn_events.event_type = 'group'
        )
),

latest as (
    select distinct on (group_id)
        group_id,
        traits,
        event_at as traits_updated_at
    from group_calls
    order by group_id asc, event_at desc, file_id desc, line_no desc
),

spans as (
    select
        group_id,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at
    from group_calls
    group by group_id
),

final as (
    select
        spans.group_id as account_id,
        latest.traits ->> 'name' as account_name,
        spans.first_seen_at,
        spans.last_seen_at,
        coalesce(latest.traits, '{}'::jsonb) as traits,
        latest.traits_updated_at
    from spans
    inner join latest on spans.group_id = latest.group_id
)

select * from final;

-- (account, person) pairs of withdrawn group calls: rebuilt from the remaining group calls
delete from core.account_members as members
using withdrawn_events
where
    withdrawn_events.event_type = 'group'
    and members.account_id = withdrawn_events.group_id
    and members.user_id = withdrawn_events.user_id;

insert into core.account_members (account_id, user_id, first_grouped_at, last_grouped_at)

with

touched as (
    select distinct
        group_id,
        user_id
    from withdrawn_events
    where event_type = 'group' and group_id is not null and user_id is not null
),

group_calls as (
    select
        events.group_id,
        events.user_id,
        events.event_at
    from core.fact_events as events
    inner join touched on events.group_id = touched.group_id and events.user_id = touched.user_id
    where events.event_type = 'group'
),

final as (
    select
        group_id as account_id,
        user_id,
        min(event_at) as first_grouped_at,
        max(event_at) as last_grouped_at
    from group_calls
    group by group_id, user_id
)

select * from final;
