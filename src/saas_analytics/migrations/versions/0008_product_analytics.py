"""Product analytics: inactivity sessions (30-minute rule) and funnel definitions loaded from YAML.

`core.fact_sessions` changes shape: a session is a person's run of activity events with no gap over 30
minutes, keyed by (user_id, started_at) instead of a client-sent `session_id`. The table is emptied and
the core watermark is left alone: the first core run after this migration rebuilds every session from
`core.fact_events` (see sql/core/session_scope.sql, which widens its scope when the table is empty).

`core.funnel_steps` holds the funnels of `sql/funnels.yml`, replaced on every analytics refresh.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = """
drop table core.fact_sessions;

-- one row per session: a person's activity events with no gap longer than 30 minutes
create table core.fact_sessions (
    user_id text not null,
    started_at timestamptz not null,
    ended_at timestamptz not null,
    session_date date not null,
    duration_seconds numeric not null check (duration_seconds >= 0),
    events integer not null check (events > 0),
    feature_uses integer not null,
    platform text,
    primary key (user_id, started_at)
);
create index fact_sessions_date on core.fact_sessions (session_date);

-- one row per funnel step, loaded from sql/funnels.yml on every refresh
create table core.funnel_steps (
    funnel text not null,
    step integer not null check (step >= 1),
    step_name text not null,
    event_name text not null,
    property_filters jsonb not null default '{}',
    window_days integer not null check (window_days > 0),
    primary key (funnel, step)
);
"""

DOWNGRADE = """
-- the analytics views that read these tables (the next refresh re-creates what the code still lists)
drop materialized view if exists analytics.acquisition_monthly;
drop materialized view if exists analytics.funnel_conversion;
drop materialized view if exists analytics.funnel_user_steps;
drop materialized view if exists analytics.daily_sessions;
drop table core.funnel_steps;
drop table core.fact_sessions;
create table core.fact_sessions (
    session_id text primary key,
    user_id text not null,
    session_date date not null,
    started_at timestamptz not null,
    ended_at timestamptz not null,
    duration_seconds integer not null,
    track_events integer not null,
    feature_uses integer not null,
    platform text
);
create index fact_sessions_user on core.fact_sessions (user_id, session_date);
"""


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (core only: no grants)
    """Re-shape fact_sessions for inactivity sessions; add the funnel definitions table."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Restore the session_id-keyed fact_sessions; drop the funnel definitions."""
    op.execute(DOWNGRADE)
