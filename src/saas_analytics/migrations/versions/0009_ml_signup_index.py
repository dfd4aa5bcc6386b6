"""ML reads that follow the window, not the history (issue 10).

`sql/queries/ml_events.sql` reads the activity events of the last days (the `fact_events_date` index)
plus every earlier signup (for tenure). Without an index for the signups it walked all of
`core.fact_events`; this partial index holds only `signed_up` events (one or so per person).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (core only: no grants)
    """Index the signup events by day."""
    op.execute("create index if not exists fact_events_signups on core.fact_events (event_date)"
               " where event_name = 'signed_up'")


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Drop the signup index."""
    op.execute("drop index if exists core.fact_events_signups")
