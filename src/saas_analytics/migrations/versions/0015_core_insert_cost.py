"""Core's big-day insert cost (issue 10, third pass): an index of `core.fact_events` narrowed to its readers.

`core.fact_events_anonymous` (anonymous_id, every event that has one) is read by exactly two statements,
both for anonymous-only events: re-attribution after a late identify or alias (`sql/core/fact_events.sql`
step 3) and the identity part of a file correction (`sql/files/withdraw_identity.sql`), each with
`events.sent_user_id is null`. Identified events carry an anonymousId too (the device's), so the full index
took an entry for nearly every event; the partial index holds the anonymous-only ones (measured in
docs/benchmarks.md, "Issue 10, third pass: core on a big day"). Built in place on a populated warehouse
(one scan of the table); the downgrade rebuilds the full index.

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-01
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (no new objects to grant)
    """Narrow fact_events_anonymous to the anonymous-only events its readers look up."""
    op.execute("""
drop index if exists core.fact_events_anonymous;
create index fact_events_anonymous on core.fact_events (anonymous_id) where sent_user_id is null;
""")


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Restore 0005's index over every event with an anonymous id."""
    op.execute("""
drop index if exists core.fact_events_anonymous;
create index fact_events_anonymous on core.fact_events (anonymous_id) where anonymous_id is not null;
""")
