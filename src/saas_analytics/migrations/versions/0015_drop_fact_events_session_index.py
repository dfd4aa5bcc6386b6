"""Drop `core.fact_events_session`: an index no query reads, paid for on every inserted event (issue 10).

The partial index on `core.fact_events (session_id)` (migration 0001) serves no statement: no SQL under
`sql/` and no Python under `src/` filters, joins or sorts `core.fact_events` by `session_id` — the column
is only written (`sql/core/core_batch.sql`, `sql/core/fact_events.sql`); sessions (`core.fact_sessions`)
are built from 30-minute gaps per person through `fact_events_user_date`. Its random text keys cost every
insert a B-tree descent with collation comparisons: on a 500 K-event day it took ~2 s of the 11–12 s of
backend CPU of the `core.fact_events` insert (docs/benchmarks.md, "Core on a big day"). The column stays.

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-01
"""

from alembic import op

revision = "0015"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (core only: no grants)
    """Drop the unread session index."""
    op.execute("drop index if exists core.fact_events_session")


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Recreate the session index as migration 0001 made it."""
    op.execute("create index if not exists fact_events_session on core.fact_events (session_id)"
               " where session_id is not null")
