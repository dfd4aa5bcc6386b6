"""One definition of a line's message id, for staging and for file corrections (issue 10, third pass).

Staging reads a line's message id as Segment's camelCase `messageId`, else snake_case `message_id` (JSON null
= absent), and only a non-empty string counts. File corrections (`sql/files/withdrawn_messages.sql`) need the
ids a corrected file's new lines carry, to re-decide which copy of each wins; they read only `message_id`, so
a corrected file in Segment's own camelCase had its new ids missed, and a later file's copy of such an id kept
winning over the corrected file's earlier one. `staging.event_message_id(payload)` is now the rule both read.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

UPGRADE = """
-- Contract 1: messageId (camelCase) wins over message_id when both are present; JSON null is absent; only a
-- non-empty string is an id. Inlined by the planner (a single-expression SQL function).
create or replace function staging.event_message_id(payload jsonb) returns text
language sql immutable parallel safe
return case
    when jsonb_typeof(coalesce(nullif(payload -> 'messageId', 'null'), payload -> 'message_id')) = 'string'
        then nullif(coalesce(nullif(payload -> 'messageId', 'null'), payload -> 'message_id') #>> '{}', '')
end;
"""


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (staging only: no grants)
    """Create the message-id rule."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Drop it."""
    op.execute("drop function staging.event_message_id(jsonb)")
