"""Data checks on a big day (issue 10): core's inserts join the check scope as staged_seq ranges.

Until now core's `check_scope` step wrote one `meta.check_scope_events` row per inserted event, and the
checks deleted them again: on a day of a million events, a million-row insert into a table with two
B-trees (in core's transaction) and a million-row delete (in the checks'). A core run inserts exactly the
staged events after its watermark, so it now records that range once in `meta.check_scope_staged`
(`after_staged_seq` < `staging.events.staged_seq` <= `upto_staged_seq`, read through the BRIN index on
staged_seq); `meta.check_scope_events` keeps the events a run re-attributed or withdrawn (and those of
runs before this migration, checked as before). Nothing to backfill: the new table starts empty.

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-01
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UPGRADE = """
-- one row per core run since every check stage last passed: the staged events it inserted, as a range
create table meta.check_scope_staged (
    scope_seq bigint primary key default nextval('meta.check_scope_seq'),
    after_staged_seq bigint not null,
    upto_staged_seq bigint not null,
    check (after_staged_seq < upto_staged_seq)
);
"""

DOWNGRADE = """
-- the ranges not yet checked become event rows again, so no check stage loses them
insert into meta.check_scope_events (message_id)
select staged.message_id
from meta.check_scope_staged as ranges
inner join staging.events as staged
    on staged.staged_seq > ranges.after_staged_seq and staged.staged_seq <= ranges.upto_staged_seq
on conflict (message_id) do update set scope_seq = excluded.scope_seq;
drop table if exists meta.check_scope_staged;
"""


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (meta only: no grants)
    """Create the table of the core runs' inserted ranges."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Turn the unchecked ranges back into event rows and drop the table."""
    op.execute(DOWNGRADE)
