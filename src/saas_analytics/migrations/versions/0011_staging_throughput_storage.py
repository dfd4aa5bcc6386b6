"""Staging throughput and storage (issue 10): a cheaper timestamp check, two indexes that did not pay.

`staging.is_valid_timestamptz(value)` keeps its rule — ISO-8601 with seconds, at most six fractional digits
and an offset (`Z` or `±hh:mm`), and a value PostgreSQL accepts — but decides the common `…Z` form
without the regular expression, its most expensive part (measured: docs/benchmarks.md): a value PostgreSQL
accepts that reads back identically from `to_char` of its UTC time (four-digit year, hours 00–23,
minutes and seconds 00–59, only digits) matches the expression by construction. Anything else (offsets,
odd shapes, garbage) goes through the original test. Declared `stable` (it calls the stable
`pg_input_is_valid`) instead of `immutable`, so the planner inlines it instead of running a SQL
function per call. PostgreSQL 15 and older keep the 0001 definition (no `pg_input_is_valid`).

Indexes that did not earn their keep (measured on `bench_history --users 3000 --days 120`, see
docs/benchmarks.md): `core.fact_events_session` (15 B per event) is read by no query since sessions are
inactivity runs (0008), so it goes; `staging.events.staged_seq`'s unique b-tree (22 B per event), read
only as "after the watermark" by sql/core/core_batch.sql, becomes a BRIN index (24 kB for 390 K events):
staged_seq grows with the heap, so the day's rows are the last block ranges. Dropping an index and
building a BRIN are quick on a populated warehouse (one scan); the existing rows are not rewritten.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# The contract's format (the same expression as migration 0001).
ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-](0\d|1[0-4]):[0-5]\d)$"

TIMESTAMP_CHECK = f"""
create or replace function staging.is_valid_timestamptz(value text) returns boolean
language sql stable parallel safe
return case
    when value is null then null
    -- not the `yyyy-mm-ddThh:mi:ss[.f{{1,6}}]Z` shape: the full test
    when
        value not like '____-__-__T__:__:__%Z'
        or length(value) not in (20, 22, 23, 24, 25, 26, 27)
        then value ~ '{ISO_TIMESTAMP}' and pg_input_is_valid(value, 'timestamptz')
    when not pg_input_is_valid(value, 'timestamptz') then false
    -- canonical digits read back: the value matches the expression
    when
        left(to_char(value::timestamptz at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), length(value) - 1) || 'Z'
        = value
        then true
    else value ~ '{ISO_TIMESTAMP}'
end;
"""

TIMESTAMP_CHECK_0001 = f"""
create or replace function staging.is_valid_timestamptz(value text) returns boolean
language sql immutable parallel safe
return value ~ '{ISO_TIMESTAMP}' and pg_input_is_valid(value, 'timestamptz');
"""


def _server_version() -> int:
    """The server's version number (e.g. 180006)."""
    return int(op.get_bind().exec_driver_sql("show server_version_num").scalar())


INDEXES = """
drop index if exists core.fact_events_session;
alter table staging.events drop constraint if exists events_staged_seq_key;
create index if not exists staging_events_staged_seq on staging.events using brin (staged_seq);
"""

INDEXES_0001 = """
drop index if exists staging.staging_events_staged_seq;
alter table staging.events add constraint events_staged_seq_key unique (staged_seq);
create index if not exists fact_events_session on core.fact_events (session_id) where session_id is not null;
"""


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (no new objects to grant)
    """The timestamp check's fast path; indexes that earn their keep."""
    if _server_version() >= 160000:
        op.execute(TIMESTAMP_CHECK)
    op.execute(INDEXES)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """The 0001 timestamp check and indexes."""
    op.execute(INDEXES_0001)
    if _server_version() >= 160000:
        op.execute(TIMESTAMP_CHECK_0001)
