-- grain: one row per id with a winning link (core.identity_links) and its person (core.identity_map)
-- Step 1: this run's links. Every event carrying an anonymous id A and a user id U links A -> U; an alias
-- links previousId -> userId. Only the earliest occurrence of each (id, user id) pair can ever win, so a
-- pair already stored changes nothing (the run skips the replay below when no pair is new or earlier).
create temp table identity_new_candidates (source_id text, target_id text) on commit drop;

with

anonymous_links as (
    select
        anonymous_id as source_id,
        sent_user_id as target_id,
        'anonymous' as link_type,
        event_at as linked_at,
        file_id,
        line_no,
        message_id
    from core_batch
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
    from core_batch
    where event_type = 'alias'
),

-- read by both steps below without being materialized (a million rows on a big day): each reads core_batch
all_links as not materialized (
    select * from anonymous_links
    union all
    select * from alias_links
),

-- a self-link (anonymousId = userId) can never win: it is a cycle. The earliest time per pair first (a hash
-- aggregate: no sort of the day's events), then the first in load order among the links at that time
earliest_at as (
    select
        source_id,
        target_id,
        min(linked_at) as linked_at
    from all_links
    where source_id <> target_id
    group by source_id, target_id
),

earliest_links as (
    select distinct on (all_links.source_id, all_links.target_id) all_links.*
    from all_links
    inner join earliest_at
        on
            all_links.source_id = earliest_at.source_id
            and all_links.target_id = earliest_at.target_id
            and all_links.linked_at = earliest_at.linked_at
    order by
        all_links.source_id, all_links.target_id, all_links.linked_at, all_links.file_id, all_links.line_no,
        case all_links.link_type when 'anonymous' then 0 else 1 end
),

-- a pair seen before keeps its earliest occurrence; returned rows are pairs that are new or now earlier
upserted as (
    insert into core.identity_link_candidates as stored (
        source_id, target_id, link_type, linked_at, file_id, line_no, message_id
    )
    select * from earliest_links
    on conflict (source_id, target_id) do update
        set
            link_type = excluded.link_type,
            linked_at = excluded.linked_at,
            file_id = excluded.file_id,
            line_no = excluded.line_no,
            message_id = excluded.message_id
        where (excluded.linked_at, excluded.file_id, excluded.line_no)
        < (stored.linked_at, stored.file_id, stored.line_no)
    returning stored.source_id, stored.target_id
)

insert into identity_new_candidates (source_id, target_id)
select
    source_id,
    target_id
from upserted;

-- Step 2: re-stitch the connected components the new or earlier pairs touch (core.restitch_identity(),
-- shared with the file correction's withdrawal: replay of their candidates in order, first link per id wins,
-- no cycles; resolve(id) for their ids): the ids whose person changed this run (new, moved or no longer
-- linked), for fact_events. Components the run's links do not touch keep their links and persons as stored.
create temp table identity_changes on commit drop as
with

seeds as (
    select source_id as id from identity_new_candidates
    union
    select target_id as id from identity_new_candidates
),

final as (
    select
        changes.id,
        changes.previous_person_id,
        changes.person_id
    from core.restitch_identity(array(select seeds.id from seeds)) as changes
)

select * from final;
