"""Staging throughput and storage (issue 10).

`staging.is_valid_timestamptz(value)` keeps its rule — ISO-8601 with seconds, at most six fractional digits
and an offset (`Z` or `±hh:mm`), and a value PostgreSQL accepts — but decides the common `…Z` form
without the regular expression, which cost more than everything else per line: a value PostgreSQL
accepts that reads back identically from `to_char` of its UTC time (four-digit year, hours 00–23,
minutes and seconds 00–59, only digits) matches the expression by construction. Anything else (offsets,
odd shapes, garbage) goes through the original test. Declared `stable` (it calls the stable
`pg_input_is_valid`) instead of `immutable`, so the planner inlines it instead of running a SQL
function per call. PostgreSQL 15 and older keep the 0001 definition (no `pg_input_is_valid`).

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


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (no new objects to grant)
    """The timestamp check's fast path."""
    if _server_version() >= 160000:
        op.execute(TIMESTAMP_CHECK)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """The 0001 timestamp check."""
    if _server_version() >= 160000:
        op.execute(TIMESTAMP_CHECK_0001)
