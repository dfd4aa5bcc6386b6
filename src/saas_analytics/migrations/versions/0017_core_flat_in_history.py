"""Core flat in history (issue 10): identity re-stitched per connected component, feature uses per person-feature.

Which link of an id wins, and where an id's chain of links ends, depend only on the candidate links of the
id's connected component (ids joined by any candidate link, either direction): the replay of
`core.rebuild_identity_links()` checks "does the source have a link" and follows the target's chain, and
both stay inside the component. So `core.restitch_identity(seed_ids)` finds the components of the given
ids, replays just their candidates from scratch (same order, same rule), resolves just their ids, writes
the changed `core.identity_map` rows and returns them. The core identity step (sql/core/identity.sql) seeds
it with the ids of the run's new or earlier candidate pairs, the file correction's withdrawal
(sql/files/withdraw_identity.sql) with the ids of the withdrawn pairs: one definition of the rule for both.
It replaces `core.rebuild_identity_links()` (0005) and `core.resolve_identity_map()` (0010), which walked
every link on each run. An index on the candidates' target finds a component's links in both directions.

`sql/core/agg_feature_users.sql` recounts only the person-features a run's new feature uses touch (a person
whole only when a use left them); the partial index `core.fact_events_feature_uses` (feature_used events
only) finds one person's uses of one feature without reading the person's other events.

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-01
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

UPGRADE = """
create index identity_link_candidates_target on core.identity_link_candidates (target_id);

-- a person's uses of one feature, for core.agg_feature_users' recount of the person-features a run touches
create index fact_events_feature_uses on core.fact_events (user_id, feature)
where event_type = 'track' and event_name = 'feature_used';

-- one row per id whose person changed (new, moved or no longer linked): the previous and the new person
create function core.restitch_identity(seed_ids text[])
returns table (id text, previous_person_id text, person_id text)
language plpgsql as $$
#variable_conflict use_column
declare
    candidate record;
    node text;
    next_node text;
begin
    create temp table if not exists identity_component (id text primary key) on commit drop;
    truncate identity_component;
    create temp table if not exists identity_component_changes (
        id text primary key, previous_person_id text, person_id text
    ) on commit drop;
    truncate identity_component_changes;

    -- the connected components of the seeds: every id a candidate link joins to them, either direction
    insert into identity_component (id)
    with recursive

    edges as (
        select
            candidates.source_id as from_id,
            candidates.target_id as to_id
        from core.identity_link_candidates as candidates
        union all
        select
            candidates.target_id as from_id,
            candidates.source_id as to_id
        from core.identity_link_candidates as candidates
    ),

    component (id) as (
        select distinct seed.id
        from unnest(seed_ids) as seed (id)
        where seed.id is not null
        union
        select edges.to_id
        from component
        inner join edges on component.id = edges.from_id
    )

    select component.id from component;
    analyze identity_component;

    -- replay the components' candidates in order (timestamp, load order; the anonymous-id link of an event
    -- before its alias link): the first link of an id wins, a link whose target already resolves to its
    -- source is ignored (no cycles)
    delete from core.identity_links as links
    using identity_component
    where links.source_id = identity_component.id;

    for candidate in
        select candidates.*
        from core.identity_link_candidates as candidates
        inner join identity_component on candidates.source_id = identity_component.id
        order by
            candidates.linked_at, candidates.file_id, candidates.line_no,
            case candidates.link_type when 'anonymous' then 0 else 1 end, candidates.source_id
    loop
        continue when exists (select 1 from core.identity_links as links where links.source_id = candidate.source_id);
        node := candidate.target_id;
        loop
            select links.target_id into next_node from core.identity_links as links where links.source_id = node;
            exit when not found;
            node := next_node;
        end loop;
        continue when node = candidate.source_id;
        insert into core.identity_links (source_id, target_id, link_type, linked_at, file_id, line_no, message_id)
        values (candidate.source_id, candidate.target_id, candidate.link_type, candidate.linked_at,
                candidate.file_id, candidate.line_no, candidate.message_id);
    end loop;

    -- resolve(id) for the components' linked ids: the deepest link of an id's chain names its person;
    -- compared with the stored map of the same ids
    insert into identity_component_changes (id, previous_person_id, person_id)
    with recursive

    chains as (
        select
            links.source_id as id,
            links.target_id as person_id,
            1 as depth
        from core.identity_links as links
        inner join identity_component on links.source_id = identity_component.id
        union all
        select
            chains.id,
            links.target_id as person_id,
            chains.depth + 1 as depth
        from chains
        inner join core.identity_links as links on chains.person_id = links.source_id
    ),

    resolved as (
        select distinct on (chains.id)
            chains.id,
            chains.person_id
        from chains
        order by chains.id asc, chains.depth desc
    ),

    stored as (
        select
            map.id,
            map.person_id
        from core.identity_map as map
        inner join identity_component on map.id = identity_component.id
    )

    select
        coalesce(resolved.id, stored.id) as id,
        stored.person_id as previous_person_id,
        resolved.person_id
    from resolved
    full outer join stored on resolved.id = stored.id
    where resolved.person_id is distinct from stored.person_id;

    delete from core.identity_map as map
    using identity_component_changes as changes
    where map.id = changes.id;

    insert into core.identity_map (id, person_id)
    select
        changes.id,
        changes.person_id
    from identity_component_changes as changes
    where changes.person_id is not null;

    return query
    select
        changes.id,
        changes.previous_person_id,
        changes.person_id
    from identity_component_changes as changes;
end $$;

drop function core.rebuild_identity_links(timestamptz, bigint, integer);
drop function core.resolve_identity_map();
"""

# 0005's and 0010's functions, as they were
DOWNGRADE = """
drop function if exists core.restitch_identity(text[]);
drop index if exists core.identity_link_candidates_target;
drop index if exists core.fact_events_feature_uses;

create function core.rebuild_identity_links(
    after_at timestamptz default null, after_file bigint default null, after_line integer default null
) returns integer
language plpgsql as $$
declare
    candidate record;
    node text;
    next_node text;
    kept integer := 0;
begin
    if after_at is null then
        delete from core.identity_links;
    end if;
    for candidate in
        select * from core.identity_link_candidates
        where after_at is null or (linked_at, file_id, line_no) > (after_at, after_file, after_line)
        order by linked_at, file_id, line_no, case link_type when 'anonymous' then 0 else 1 end, source_id
    loop
        continue when exists (select 1 from core.identity_links where source_id = candidate.source_id);
        node := candidate.target_id;
        loop
            select target_id into next_node from core.identity_links where source_id = node;
            exit when not found;
            node := next_node;
        end loop;
        continue when node = candidate.source_id;
        insert into core.identity_links (source_id, target_id, link_type, linked_at, file_id, line_no, message_id)
        values (candidate.source_id, candidate.target_id, candidate.link_type, candidate.linked_at,
                candidate.file_id, candidate.line_no, candidate.message_id);
        kept := kept + 1;
    end loop;
    return kept;
end $$;

create function core.resolve_identity_map()
returns table (id text, person_id text)
language sql stable as $$
    with recursive

    links as (
        select
            source_id,
            target_id
        from core.identity_links
    ),

    chains as (
        select
            source_id as id,
            target_id as person_id,
            1 as depth
        from links
        union all
        select
            chains.id,
            links.target_id as person_id,
            chains.depth + 1 as depth
        from chains
        inner join links on chains.person_id = links.source_id
    ),

    final as (
        select distinct on (id)
            id,
            person_id
        from chains
        order by id asc, depth desc
    )

    select
        id,
        person_id
    from final
$$;
"""


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (core only: no grants)
    """Create core.restitch_identity() and the two indexes; drop the whole-map functions it replaces."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Restore core.rebuild_identity_links() and core.resolve_identity_map()."""
    op.execute(DOWNGRADE)
