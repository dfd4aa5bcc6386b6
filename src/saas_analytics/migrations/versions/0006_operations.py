"""Operations: file quarantine, corrections audit, and the one-line reason of each run.

- `raw.quarantined_files`: one row per landing file the loader set aside *as a file* (changed after it
  was loaded, unreadable); the other files of the run go on. Resolved by `saas-analytics files replace`
  / `files forget`, or by itself when the file at that path becomes loadable.
- `analytics.file_corrections`: who replaced or forgot which loaded file, when, and what it changed.
- `analytics.pipeline_runs.reason`: why a run failed, or what it warns about (a quarantined file).
- `analytics.pipeline_quarantined_files`: the quarantine as the dashboards see it (no payloads).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import re

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UPGRADE = """
alter table analytics.pipeline_runs add column reason text;

-- one row per landing file set aside as a whole (status quarantined until resolved)
create table raw.quarantined_files (
    quarantine_id bigint generated always as identity primary key,
    file_name text not null,
    sha256 text,
    size_bytes bigint,
    reason text not null,
    status text not null default 'quarantined' check (status in ('quarantined', 'resolved')),
    first_seen_at timestamptz not null default clock_timestamp(),
    last_seen_at timestamptz not null default clock_timestamp(),
    first_batch_id bigint references raw.load_batches,
    resolved_at timestamptz,
    resolution text
);
create unique index quarantined_files_open on raw.quarantined_files (file_name) where status = 'quarantined';

-- one row per correction of a loaded file: who replaced (or forgot) what, and what it changed
create table analytics.file_corrections (
    correction_id bigint generated always as identity primary key,
    file_name text not null,
    action text not null check (action in ('replace', 'forget')),
    corrected_by text not null,
    corrected_at timestamptz not null default clock_timestamp(),
    old_sha256 text,
    new_sha256 text,
    old_lines integer,
    new_lines integer,
    events_withdrawn integer not null,
    events_loaded integer not null,
    users_rebuilt integer not null,
    note text
);

-- grain: one row per landing file ever quarantined (counts and reasons only, never lines)
create view analytics.pipeline_quarantined_files as
select
    quarantine_id,
    file_name,
    status,
    reason,
    size_bytes,
    first_seen_at,
    last_seen_at,
    resolved_at,
    resolution
from raw.quarantined_files;
"""

GRANTS = """
do $$
declare
    reader text default {role};
begin
    if exists (select 1 from pg_roles where rolname = reader) then
        execute 'grant select on analytics.pipeline_quarantined_files, analytics.file_corrections to '
            || quote_ident(reader);
    end if;
end $$;
"""


def _literal(role: str) -> str:
    """The role name as an SQL string literal (plain identifiers only)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", role):
        raise ValueError(f"reader role name {role!r} must be a plain identifier")
    return "'" + role + "'"


def upgrade(reader_role: str = "analytics_reader") -> None:
    """Quarantine, corrections audit, run reasons."""
    op.execute(UPGRADE)
    op.execute(GRANTS.replace("{role}", _literal(reader_role)))


def downgrade(reader_role: str = "analytics_reader") -> None:
    """Drop them (data included)."""
    op.execute(
        """
        drop view if exists analytics.pipeline_quarantined_files;
        drop table if exists analytics.file_corrections, raw.quarantined_files;
        alter table analytics.pipeline_runs drop column if exists reason;
        """
    )
