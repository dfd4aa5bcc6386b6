"""`core.dim_users`: daily runs now leave what one run over the same files gives (first platform, traits).

Two merges of a run's events into a person's stored row differed from a build over all their events:

* `first_platform` (the platform of the person's earliest event with one) was replaced only when the run brought
  an event earlier than the person's earliest event of any kind; a late event with a platform, earlier than the
  stored platform's event but later than an event without one, was ignored. The time of the stored platform's
  event is now kept, `first_platform_at`, and compared.
* `company`, `country`, `email_domain` (the latest identify's traits) were merged trait by trait, so a trait the
  latest identify left out kept an older identify's value. The latest identify now replaces all three.

Existing rows are recomputed once from the persons' events, as one run over them gives them
(`sql/core/dim_users.sql`).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

UPGRADE = """
alter table core.dim_users add column first_platform_at timestamptz;

-- the platform of each person's earliest event with one (the first in load order at that time)
update core.dim_users as users
set
    first_platform = firsts.platform,
    first_platform_at = firsts.event_at
from (
    select distinct on (user_id)
        user_id,
        platform,
        event_at
    from core.fact_events
    where user_id is not null and platform is not null
    order by user_id asc, event_at asc, file_id asc, line_no asc
) as firsts
where users.user_id = firsts.user_id;

-- the traits of each person's latest identify (the last in load order at that time)
update core.dim_users as users
set
    company = latest.company,
    country = latest.country,
    email_domain = latest.email_domain,
    traits_updated_at = latest.event_at
from (
    select distinct on (events.user_id)
        events.user_id,
        events.event_at,
        staging.event_object(raw_lines.payload, 'traits') ->> 'company' as company,
        staging.event_object(raw_lines.payload, 'traits') ->> 'country' as country,
        nullif(lower(split_part(staging.event_object(raw_lines.payload, 'traits') ->> 'email', '@', 2)), '')
            as email_domain
    from core.fact_events as events
    inner join raw.events as raw_lines on events.file_id = raw_lines.file_id and events.line_no = raw_lines.line_no
    where events.user_id is not null and events.event_type = 'identify'
    order by events.user_id asc, events.event_at desc, events.file_id desc, events.line_no desc
) as latest
where users.user_id = latest.user_id;
"""

DOWNGRADE = """
alter table core.dim_users drop column first_platform_at;
"""


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (core only: no grants)
    """Add `first_platform_at`; recompute every person's first platform and traits from their events."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Drop `first_platform_at` (the recomputed values stay)."""
    op.execute(DOWNGRADE)
