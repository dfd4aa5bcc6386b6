"""Staging as typed events pointing into raw (issue 10, third pass): no jsonb copies in `staging.events`.

`staging.events` kept three jsonb objects of each event (`properties`, `traits`, `context`, ~140 B per
event) that are also in `raw.events.payload`, which raw keeps verbatim. They go: a staged event is its typed
columns plus `(file_id, line_no)`, raw's primary key, and the few readers (core's batch, `dim_users`, the
file corrections' dimension rebuild) read the objects from the raw line through one function,
`staging.event_object(payload, name)`: the named member when it is a JSON object, else `{}` — the rule
staging applied when it copied them (`sql/staging/stg_batch.sql` uses the same function for its checks).

Upgrade drops the three columns and rewrites `staging.events` (a no-op type change on `line_no` forces the
rewrite, in the migration's transaction, so the dropped columns' bytes are returned now rather than as rows
are updated; indexes are rebuilt). No event changes: the objects are recomputed from raw on read.
Downgrade adds the columns back and fills them from raw with the same function.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

EVENT_OBJECT = """
-- Contract 1: properties, traits and context are JSON objects; anything else (absent, null, a string,
-- an array) is an empty object. The one definition, for staging's checks and every reader of raw's payload.
create or replace function staging.event_object(payload jsonb, name text) returns jsonb
language sql immutable parallel safe
return case when jsonb_typeof(payload -> name) = 'object' then payload -> name else '{}'::jsonb end;
"""

UPGRADE = """
alter table staging.events
    drop column properties,
    drop column traits,
    drop column context;
-- rewrite the table now (a type change with an expression always does): the dropped columns' bytes go
alter table staging.events alter column line_no type integer using line_no + 0;
"""

DOWNGRADE = """
alter table staging.events
    add column properties jsonb,
    add column traits jsonb,
    add column context jsonb;
update staging.events as events
set
    properties = staging.event_object(raw_events.payload, 'properties'),
    traits = staging.event_object(raw_events.payload, 'traits'),
    context = staging.event_object(raw_events.payload, 'context')
from raw.events as raw_events
where raw_events.file_id = events.file_id and raw_events.line_no = events.line_no;
alter table staging.events
    alter column properties set not null,
    alter column traits set not null,
    alter column context set not null;
drop function staging.event_object(jsonb, text);
"""


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (a function: executable by all)
    """The object function; staging.events without its jsonb copies."""
    op.execute(EVENT_OBJECT)
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """The three jsonb columns back, filled from raw."""
    op.execute(DOWNGRADE)
