"""Revenue model: the cancellation reason on subscription events, and one MRR row per person per month.

- `core.fact_subscription_events.reason`: `properties.reason` of a `subscription_cancelled` event
  (`payment_failed` marks involuntary churn); back-filled from `core.fact_events` for existing rows.
- `core.fact_mrr_monthly`: one row per person per month from the month of their first subscription event
  to the latest month with activity (MRR at the month's end, the month before, the movement, the first
  paid month, the involuntary flag). Maintained by `sql/core/fact_mrr_monthly.sql`.
- `core.watermarks` row `fact_mrr_monthly`: the staged sequence the table is complete for. An existing
  warehouse (core watermark > 0) has history the table has not seen: its next core run builds every
  person once, then only what changes.
- a partial index on `core.fact_events` for the payment events `analytics.billing_monthly` reads.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UPGRADE = """
alter table core.fact_subscription_events add column reason text;

update core.fact_subscription_events as subscriptions
set reason = events.properties ->> 'reason'
from core.fact_events as events
where
    events.message_id = subscriptions.message_id
    and subscriptions.event_name = 'subscription_cancelled';

-- one row per person per month, from their first subscription event's month to the latest month with activity
create table core.fact_mrr_monthly (
    month date not null,
    user_id text not null,
    mrr_cents bigint not null check (mrr_cents >= 0),
    previous_mrr_cents bigint not null check (previous_mrr_cents >= 0),
    movement text not null
        check (movement in ('new', 'reactivation', 'expansion', 'contraction', 'churned', 'none')),
    movement_cents bigint not null check (movement_cents >= 0),
    first_paid_month date,
    is_involuntary boolean not null default false,
    primary key (user_id, month),
    check (is_involuntary = false or movement = 'churned')
);
create index fact_mrr_monthly_month on core.fact_mrr_monthly (month);

insert into core.watermarks (step, last_staged_seq) values ('fact_mrr_monthly', 0);

create index fact_events_payments on core.fact_events (event_at)
where event_name in ('payment_succeeded', 'payment_failed');
"""

DOWNGRADE = """
drop index if exists core.fact_events_payments;
delete from core.watermarks where step = 'fact_mrr_monthly';
drop table if exists core.fact_mrr_monthly cascade;  -- analytics views over it are re-created by the next refresh
alter table core.fact_subscription_events drop column if exists reason;
"""


def upgrade(reader_role: str = "analytics_reader") -> None:
    """Add the reason column, the per-person MRR table and its watermark."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:
    """Drop the per-person MRR table and the reason column."""
    op.execute(DOWNGRADE)
