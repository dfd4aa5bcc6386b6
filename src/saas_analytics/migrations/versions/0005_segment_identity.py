"""Segment-spec streams and identity: relative landing paths, six call types, links → person.

- `raw.load_files.file_name` (and `raw.load_failures.file_name`) now hold the file's path relative
  to LANDING_DIR (posix). Files loaded before were top-level files, so their relative path is their
  name: nothing is rewritten and nothing reloads.
- `staging.events`: the six Segment call types; `user_id` (as sent) becomes optional beside
  `anonymous_id`, `previous_id` (alias), `group_id` (group) and `page_name` (page/screen `name`).
- `core.fact_events.user_id` is now the event's *person* (nullable: nobody); the id as sent is
  `sent_user_id`, the device id `anonymous_id`. Existing rows had no links, so person = sent id.
- `core.identity_link_candidates` (every link seen, earliest occurrence per pair),
  `core.identity_links` (the links that win: first per id, no cycles) and `core.identity_map`
  (id → person for every linked id), rebuilt by `core.rebuild_identity_links()`.
- `core.dim_accounts` and `core.account_members` from `group` calls.
- `core.fact_daily_user_activity.activity_events`: track + page + screen events of the person-day.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UPGRADE = """
comment on column raw.load_files.file_name is 'path of the landing file relative to LANDING_DIR (posix separators)';
comment on column raw.load_failures.file_name is 'path of the landing file relative to LANDING_DIR (posix separators)';

alter table staging.events drop constraint if exists events_event_type_check;
alter table staging.events add constraint events_event_type_check
    check (event_type in ('track', 'identify', 'page', 'screen', 'group', 'alias'));
alter table staging.events alter column user_id drop not null;
alter table staging.events add column anonymous_id text;
alter table staging.events add column previous_id text;
alter table staging.events add column group_id text;
alter table staging.events add column page_name text;
alter table staging.events add constraint events_has_an_id check (user_id is not null or anonymous_id is not null);

alter table core.fact_events alter column user_id drop not null;
alter table core.fact_events add column sent_user_id text;
alter table core.fact_events add column anonymous_id text;
alter table core.fact_events add column previous_id text;
alter table core.fact_events add column group_id text;
update core.fact_events set sent_user_id = user_id;
comment on column core.fact_events.user_id is 'the person (resolved user id); null when the event resolves to nobody';
comment on column core.fact_events.sent_user_id is 'userId as sent';
create index fact_events_sent_user on core.fact_events (sent_user_id) where sent_user_id is not null;
create index fact_events_anonymous on core.fact_events (anonymous_id) where anonymous_id is not null;
create index fact_events_group on core.fact_events (group_id) where group_id is not null;

alter table core.fact_daily_user_activity add column activity_events integer not null default 0;
update core.fact_daily_user_activity set activity_events = track_events;
alter table core.fact_daily_user_activity alter column activity_events drop default;

-- one row per (id, user id) pair ever linked, at its earliest occurrence (a later copy of a pair can never win)
create table core.identity_link_candidates (
    source_id text not null,
    target_id text not null,
    link_type text not null check (link_type in ('anonymous', 'alias')),
    linked_at timestamptz not null,
    file_id bigint not null,
    line_no integer not null,
    message_id text not null,
    primary key (source_id, target_id)
);
create index identity_link_candidates_order on core.identity_link_candidates (linked_at, file_id, line_no);

-- one row per id with a winning link: the first link of the id (timestamp, load order), cycles ignored
create table core.identity_links (
    source_id text primary key,
    target_id text not null,
    link_type text not null,
    linked_at timestamptz not null,
    file_id bigint not null,
    line_no integer not null,
    message_id text not null
);

-- one row per linked id: resolve(id), the id at the end of its chain of links
create table core.identity_map (
    id text primary key,
    person_id text not null
);
create index identity_map_person on core.identity_map (person_id);

-- one row per account (group id) seen in group calls
create table core.dim_accounts (
    account_id text primary key,
    account_name text,
    first_seen_at timestamptz not null,
    last_seen_at timestamptz not null,
    traits jsonb not null default '{}',
    traits_updated_at timestamptz not null
);

-- one row per person per account they were grouped into
create table core.account_members (
    account_id text not null,
    user_id text not null,
    first_grouped_at timestamptz not null,
    last_grouped_at timestamptz not null,
    primary key (account_id, user_id)
);
create index account_members_user on core.account_members (user_id);

-- Replays the candidate links in order (timestamp, load order; the anonymous-id link of an event before its
-- alias link): the first link of an id wins, a link whose target already resolves to its source is ignored.
-- With a key (after_at, after_file, after_line) it replays only the candidates after it on top of the stored
-- links (valid when every candidate up to the key was replayed before); without one, all of them from scratch.
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
"""

DOWNGRADE = """
drop function if exists core.rebuild_identity_links(timestamptz, bigint, integer);
drop table if exists core.account_members, core.dim_accounts, core.identity_map, core.identity_links,
    core.identity_link_candidates;
alter table core.fact_daily_user_activity drop column activity_events;
delete from core.fact_events where user_id is null;
alter table core.fact_events drop column sent_user_id, drop column anonymous_id, drop column previous_id,
    drop column group_id;
alter table core.fact_events alter column user_id set not null;
alter table staging.events drop constraint events_has_an_id;
delete from staging.events where user_id is null or event_type not in ('track', 'identify');
alter table staging.events drop column anonymous_id, drop column previous_id, drop column group_id,
    drop column page_name;
alter table staging.events alter column user_id set not null;
alter table staging.events drop constraint events_event_type_check;
alter table staging.events add constraint events_event_type_check check (event_type in ('track', 'identify'));
"""


def upgrade(reader_role: str = "analytics_reader") -> None:
    """Relative paths, Segment call types, identity tables."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:
    """Back to 0003's shapes (events of the new call types and anonymous-only events are dropped)."""
    op.execute(DOWNGRADE)
