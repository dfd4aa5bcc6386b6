-- grain: one row per id with a winning link (core.identity_links) and its person (core.identity_map)
-- Step 1: this run's links. Every event carrying an anonymous id A and a user id U links A -> U; an alias
-- links previousId -> userId. Only the earliest occurrence of each (id, user id) pair can ever win, so a
-- pair already stored changes nothing (the run skips the replay below when no pair is new or earlier).
create temp table identity_new_candidates (source_id text, target_id text) on commit drop;

-- the latest candidate replayed so far: links after it can be replayed on top of the stored ones
create temp table identity_replayed_until on commit drop as
select
    linked_at,
    file_id,
    line_no
from core.identity_link_candidates
order by linked_at desc, file_id desc, line_no desc
limit 1;

with

batch as (
    select * from core_batch
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
    from batch
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
    from batch
    where event_type = 'alias'
),

all_links as (
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

-- Step 2: replay the candidates in order (first link per id wins, no cycles; see the migration 0005): only
-- the new ones when they all come after every stored one, else all of them (a late, earlier link).
with

previous as (
    select * from identity_replayed_until
),

new_keys as (
    select
        candidates.linked_at,
        candidates.file_id,
        candidates.line_no
    from core.identity_link_candidates as candidates
    inner join identity_new_candidates as new_candidates
        on
            candidates.source_id = new_candidates.source_id
            and candidates.target_id = new_candidates.target_id
),

decision as (
    select
        exists (select 1 from previous)
        and not exists (
            select 1
            from new_keys
            cross join previous
            where (new_keys.linked_at, new_keys.file_id, new_keys.line_no)
                <= (previous.linked_at, previous.file_id, previous.line_no)
        ) as append_only
),

final as (
    select
        case when decision.append_only then previous.linked_at end as after_at,
        case when decision.append_only then previous.file_id end as after_file,
        case when decision.append_only then previous.line_no end as after_line
    from decision
    left join previous on true
    where exists (select 1 from identity_new_candidates)
)

select core.rebuild_identity_links(after_at, after_file, after_line)
from final;

-- Step 3: resolve(id) for every linked id: follow the links to an id without one (they never cycle;
-- core.resolve_identity_map(), shared with the file correction's withdrawal).
create temp table identity_resolved on commit drop as
with

final as (
    select
        id,
        person_id
    from core.resolve_identity_map()
)

-- unchanged links leave every person as stored: nothing to resolve
select * from final
where exists (select 1 from identity_new_candidates);

-- Step 4: the ids whose person changed this run (new, moved or no longer linked), for fact_events.
create temp table identity_changes on commit drop as
select
    coalesce(resolved.id, stored.id) as id,
    stored.person_id as previous_person_id,
    resolved.person_id
from identity_resolved as resolved
full outer join core.identity_map as stored on resolved.id = stored.id
where
    resolved.person_id is distinct from stored.person_id
    and exists (select 1 from identity_new_candidates);

delete from core.identity_map as stored
using identity_changes
where stored.id = identity_changes.id;

insert into core.identity_map (id, person_id)
select
    id,
    person_id
from identity_changes
where person_id is not null;
