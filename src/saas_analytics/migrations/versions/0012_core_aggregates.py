"""Core aggregates for the analytics refresh (issue 10): days- and months-grain tables kept by core.

Each table is maintained incrementally by a core step (`sql/core/<table>.sql`) that rebuilds only the keys
this run's `core_changes` affect, so the analytics objects over them are thin reads whose refresh cost
follows days or months, not events. `core.aggregate_backfills` lists the aggregates a step must build in
full once (a warehouse that already holds history when this migration runs); the step removes its row.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-01
"""

from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

UPGRADE = """
-- one row per aggregate still to be built in full from the core facts (its step deletes the row)
create table core.aggregate_backfills (
    aggregate text primary key
);

-- one row per UTC day, from the first to the latest day with activity (quiet days included)
create table core.agg_daily_active_users (
    activity_date date primary key,
    dau integer not null,
    wau integer not null,
    mau integer not null,
    stickiness numeric
);

"""

DOWNGRADE = """
-- the analytics objects that read these tables (the next refresh re-creates what the code still lists)
drop view if exists analytics.daily_active_users;
drop table core.agg_daily_active_users;
drop table core.aggregate_backfills;
"""


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (core only: no grants)
    """Create the core aggregate tables, each marked for one full build."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Drop the core aggregate tables (and the analytics views that read them)."""
    op.execute(DOWNGRADE)
