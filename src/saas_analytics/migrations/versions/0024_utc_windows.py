"""Funnel windows and the 30-day paid window in elapsed hours, whatever the session's time zone.

A funnel's window (`t1 + window_days`) and acquisition's "paid at most 30 days after the signup" added a `days`
interval to a `timestamptz`, which PostgreSQL does on the session time zone's calendar: on a server whose
`timezone` is not UTC (an embedded server initialised on a laptop set to America/New_York, a `DATABASE_URL`
server set to local time), a window that crossed a daylight-saving change was an hour short or long, so
`eligible_users`, `reached_users`, `window_ends_at` and `paid_users` could differ from a UTC server's. The SQL
now adds `24 × window_days` hours (and 720 hours). Warehouses that ran under such a time zone may hold those
counts: the three aggregates are marked for one full build by the next core run, and the two materialized views
over them are re-created by the next refresh (their recorded definitions are forgotten).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02
"""

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

UPGRADE = """
insert into core.aggregate_backfills (aggregate)
values ('agg_funnel_user_steps'), ('agg_funnel_conversion'), ('agg_acquisition_monthly')
on conflict do nothing;

delete from meta.view_definitions where name in ('funnel_conversion', 'acquisition_monthly');
"""


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (core only: no grants)
    """Mark the funnel and acquisition aggregates for one full build, and their views for re-creation."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Nothing to undo: the rebuilt rows are what the earlier SQL gives on a UTC server."""
