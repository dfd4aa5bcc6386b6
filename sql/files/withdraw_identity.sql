-- grain: statements; the identity links the withdrawn events carried are withdrawn and their components of the
-- identity map are recomputed (the rules of sql/core/identity.sql), so the core run resolves every re-loaded
-- event against the rest
-- Step 1: forget the candidate links a withdrawn event was the earliest occurrence of.
create temp table withdrawn_link_pairs (source_id text, target_id text) on commit drop;

with

removed as (
    delete from core.identity_link_candidates as candidates
    using withdrawn_events
    where candidates.message_id = withdrawn_events.message_id
    returning candidates.source_id, candidates.target_id
)

insert into withdrawn_link_pairs (source_id, target_id)
select
    source_id,
    target_id
from removed;

-- Step 2: a pair also carried by an event that stays keeps its next earliest occurrence (as in identity.sql).
insert into core.identity_link_candidates (source_id, target_id, link_type, linked_at, file_id, line_no, message_id)

with

remaining as (
    select events.*
    from core.fact_events as events
    where not exists (
            select 1 from withdrawn_events
            where withdrawn_events.message_id = events.message_id
        )
),

anonymous_links as (
    select
        anonymous_id as source_id,
        sent_user_id as target_id,
        'anonymous' as link_type,
        event_at as linked_at,
        file_id,
        line_no,
        message_id
    from remaining
    where anonymous_id is not null and sent_user_id is not null
),

alias_links as (
    select
        previous_id as source_id,
        sent_user_id as target_id,
        'alias' as link_type,
        event_at as linked_at,
        file_id,
        line_no,
        message_id
    from remaining
    where event_type = 'alias'
),

all_links as (
    select * from anonymous_links
    union all
    select * from alias_links
),

final as (
    select distinct on (all_links.source_id, all_links.target_id) all_links.*
    from all_links
    inner join withdrawn_link_pairs as pairs
        on all_links.source_id = pairs.source_id and all_links.target_id = pairs.target_id
    order by
        all_links.source_id, all_links.target_id, all_links.linked_at, all_links.file_id, all_links.line_no,
        case all_links.link_type when 'anonymous' then 0 else 1 end
)

select * from final;

-- Step 3: re-stitch the connected components of the withdrawn pairs' ids (core.restitch_identity(), the
-- core identity step's rule: replay of their candidates, resolve(id) for their ids): the ids whose person
-- the withdrawal changed.
create temp table withdrawn_identity_changes on commit drop as
with

seeds as (
    select source_id as id from withdrawn_link_pairs
    union
    select target_id as id from withdrawn_link_pairs
),

final as (
    select
        changes.id,
        changes.person_id
    from core.restitch_identity(array(select seeds.id from seeds)) as changes
)

select * from final;

-- Step 4: events that stay but may now resolve to another person (their id's link moved, or the only event
-- sending their anonymous id as a user id was withdrawn) are withdrawn too and re-loaded by the core run.
insert into withdrawn_events (
    message_id, user_id, event_type, event_name, event_at, event_date, feature, document_id, sent_user_id,
    anonymous_id, group_id, plan
)

with

relinked_ids as (
    select id from withdrawn_identity_changes
),

-- an anonymous id names a person when some event sends it as a user id: that event may be withdrawn
anonymous_ids as (
    select id from relinked_ids
    union
    select sent_user_id as id from withdrawn_events
    where sent_user_id is not null
),

by_user_id as (
    select events.message_id
    from core.fact_events as events
    inner join relinked_ids on events.sent_user_id = relinked_ids.id
),

by_anonymous_id as (
    select events.message_id
    from core.fact_events as events
    inner join anonymous_ids on events.anonymous_id = anonymous_ids.id
    where events.sent_user_id is null
),

moved as (
    select message_id from by_user_id
    union
    select message_id from by_anonymous_id
),

final as (
    select
        events.message_id,
        events.user_id,
        events.event_type,
        events.event_name,
        events.event_at,
        events.event_date,
        events.feature,
        events.document_id,
        events.sent_user_id,
        events.anonymous_id,
        events.group_id,
        events.properties ->> 'plan' as plan
    from moved
    inner join core.fact_events as events on moved.message_id = events.message_id
    where not exists (
            select 1 from withdrawn_events
            where withdrawn_events.message_id = moved.message_id
        )
)

select * from final;
