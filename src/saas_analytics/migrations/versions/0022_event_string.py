"""One definition of Contract 1's field rule (camelCase over snake_case), for every field staging reads.

Staging reads each id and `receivedAt` as Segment's camelCase name, else the snake_case one (JSON null = absent;
camelCase wins when both are present), and only a string counts. `sql/staging/stg_batch.sql` spelled that out
once per field (five times), and `staging.event_message_id` (0020) a sixth; `staging.event_string(payload,
camel, snake)` is now the rule, and the message id is its non-empty value. Both are single-expression SQL
functions: the planner inlines them (the same expression as before, no call per line) and they stay parallel
safe (staging types a batch in parallel workers).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

UPGRADE = """
-- Contract 1: the camelCase field wins over the snake_case one when both are present; JSON null is absent; the
-- value counts only as a JSON string (null otherwise: a number or an object is not an id)
create function staging.event_string(payload jsonb, camel text, snake text) returns text
language sql immutable parallel safe
return case coalesce(jsonb_typeof(payload -> camel), 'null')
    when 'string' then payload ->> camel
    when 'null' then case when jsonb_typeof(payload -> snake) = 'string' then payload ->> snake end
end;

-- a line's message id: that rule, and only a non-empty string is an id
create or replace function staging.event_message_id(payload jsonb) returns text
language sql immutable parallel safe
return nullif(staging.event_string(payload, 'messageId', 'message_id'), '');
"""

# 0020's definition back (it does not read event_string), then the function goes
DOWNGRADE = """
create or replace function staging.event_message_id(payload jsonb) returns text
language sql immutable parallel safe
return case
    when jsonb_typeof(coalesce(nullif(payload -> 'messageId', 'null'), payload -> 'message_id')) = 'string'
        then nullif(coalesce(nullif(payload -> 'messageId', 'null'), payload -> 'message_id') #>> '{}', '')
end;
drop function staging.event_string(jsonb, text, text);
"""


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (staging only: no grants)
    """Create the field rule; the message id reads it."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """The message id as 0020 wrote it; drop the field rule."""
    op.execute(DOWNGRADE)
