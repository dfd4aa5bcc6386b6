"""Data checks scoped to what the runs touched (issue 10): the persistent check scope.

The staging and core layers record what they changed — the files staged (`meta.check_scope_files`), the
core events inserted, re-attributed or withdrawn (`meta.check_scope_events`) and the person-days whose
facts were rebuilt (`meta.check_scope_person_days`) — in their own transactions, so the data checks can
read it after those have committed. Every scope row carries a `scope_seq` from one sequence (a re-touched
key takes a new number); each check stage records in `meta.check_watermarks` the highest number it has
checked and passed. A stage checks the rows above its watermark; a failed check leaves it where it was,
so the next run re-checks the same rows. Rows every check stage has passed are deleted.

A small partial index finds a person's `signed_up` events (one or so per person) for the scoped
`assert_core_signup_is_earliest` without reading the person's whole history.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UPGRADE = """
create schema if not exists meta;

create sequence meta.check_scope_seq;

-- one row per loaded file staged since every check stage last passed (raw and staging reconciliations)
create table meta.check_scope_files (
    file_id bigint primary key,
    scope_seq bigint not null default nextval('meta.check_scope_seq')
);

-- one row per core.fact_events message inserted, re-attributed or withdrawn since the checks last passed
create table meta.check_scope_events (
    message_id text primary key,
    scope_seq bigint not null default nextval('meta.check_scope_seq')
);

-- one row per person-day whose core facts (daily activity, sessions, signup) were rebuilt since then
create table meta.check_scope_person_days (
    user_id text not null,
    activity_date date not null,
    scope_seq bigint not null default nextval('meta.check_scope_seq'),
    primary key (user_id, activity_date)
);

-- a check reads the rows above its watermark: after a catch-up deleted a million rows, by index, not by
-- walking their dead tuples
create index check_scope_files_seq on meta.check_scope_files (scope_seq);
create index check_scope_events_seq on meta.check_scope_events (scope_seq);
create index check_scope_person_days_seq on meta.check_scope_person_days (scope_seq);

-- one row per check stage: the highest scope_seq it has checked and passed, and when
create table meta.check_watermarks (
    stage text primary key,
    checked_seq bigint not null,
    mode text not null,
    checked_at timestamptz not null default now()
);

create index if not exists fact_events_signup_user on core.fact_events (user_id, event_at)
where event_type = 'track' and event_name = 'signed_up';
"""

DOWNGRADE = """
drop index if exists core.fact_events_signup_user;
drop table if exists meta.check_watermarks;
drop table if exists meta.check_scope_person_days;
drop table if exists meta.check_scope_events;
drop table if exists meta.check_scope_files;
drop sequence if exists meta.check_scope_seq;
"""


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (meta and core only: no grants)
    """Create the check scope tables, the check watermarks and the signup-by-person index."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Drop them (the next check of each stage is then a full sweep)."""
    op.execute(DOWNGRADE)
