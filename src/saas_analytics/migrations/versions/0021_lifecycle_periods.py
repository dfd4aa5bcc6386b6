"""The lifecycle's period kinds, defined once: `core.lifecycle_periods` (issue 10, fourth pass).

The growth accounting counts persons per day, ISO week and month. Each kind's name (the `date_trunc` field
that gives a period's first day) and length (the step to the next period) were listed in three places: the
two statements of `sql/core/agg_user_lifecycle.sql` that enumerate periods, and `sql/analytics/user_lifecycle.sql`
(its grid of periods). They all read this table now; its rows are the definition (docs/metrics.md, "Lifecycle").

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

UPGRADE = """
-- one row per period kind: its name is a date_trunc field (a period's first day), step the period's length
create table core.lifecycle_periods (
    period text primary key,
    step interval not null
);
insert into core.lifecycle_periods (period, step)
values ('day', interval '1 day'), ('week', interval '7 days'), ('month', interval '1 month');
-- three rows for the planner from the first run on (it would guess hundreds for a never-analyzed table)
analyze core.lifecycle_periods;
"""

# analytics.user_lifecycle, when created from the SQL that reads the table, goes too: the next refresh
# re-creates it from the SQL of the code then deployed
DOWNGRADE = """
drop materialized view if exists analytics.user_lifecycle;
delete from meta.view_definitions where name = 'user_lifecycle';
drop table core.lifecycle_periods;
"""


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (core only: no grants)
    """Create the period kinds."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Drop them (and the lifecycle view that reads them)."""
    op.execute(DOWNGRADE)
