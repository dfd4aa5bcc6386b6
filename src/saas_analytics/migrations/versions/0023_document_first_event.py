"""A document's first event, by its place: `core.dim_documents.first_file_id, first_line_no` (issue 10, fifth pass).

A document's first user is the person of its earliest event of a person, the first in load order on a tie
(docs/metrics.md). A run merges its events into the stored row; a late identify that gives an earlier event a
person, or moves the first event to another person, used to be missed (only the run's new events were merged),
so two runs could name another first user than one run over the same files. The merge now also reads the
events the run re-attributed, and tells the stored first event from another event at the same time by its
place (file, line), kept here. The rows are rebuilt from `core.fact_events` once, as one run gives them.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

UPGRADE = """
alter table core.dim_documents add column first_file_id bigint, add column first_line_no integer;

-- every document from its events of persons, as one run over them gives it (sql/core/dim_documents.sql)
delete from core.dim_documents;

insert into core.dim_documents (
    document_id, first_user_id, first_event_at, last_event_at, first_file_id, first_line_no
)
with

document_events as (
    select document_id, user_id, event_at, file_id, line_no
    from core.fact_events
    where document_id is not null and user_id is not null
),

firsts as (
    select distinct on (document_id) document_id, user_id, event_at, file_id, line_no
    from document_events
    order by document_id, event_at, file_id, line_no
),

lasts as (
    select document_id, max(event_at) as last_event_at
    from document_events
    group by document_id
)

select firsts.document_id, firsts.user_id, firsts.event_at, lasts.last_event_at, firsts.file_id, firsts.line_no
from firsts
inner join lasts on firsts.document_id = lasts.document_id;

alter table core.dim_documents alter column first_file_id set not null, alter column first_line_no set not null;
"""

DOWNGRADE = """
alter table core.dim_documents drop column first_file_id, drop column first_line_no;
"""


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (core only: no grants)
    """Add the first event's place and rebuild every document's row from its events."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Drop the two columns (the rows keep their values)."""
    op.execute(DOWNGRADE)
