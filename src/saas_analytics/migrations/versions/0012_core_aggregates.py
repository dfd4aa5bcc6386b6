"""Core aggregates for the analytics refresh (issue 10): days- and months-grain tables kept by core.

Each table is maintained incrementally by a core step (`sql/core/<table>.sql`) that rebuilds only the keys
this run's `core_changes` affect, so the analytics objects over them are thin reads whose refresh cost
follows days or months, not events. `core.aggregate_backfills` lists the aggregates a step must build in
full once (a warehouse that already holds history when this migration runs); the step removes its row.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UPGRADE = """
-- analytics.funnel_user_steps becomes a plain view of core.agg_funnel_user_steps: the materialized views
-- that read it go too, and the next refresh re-creates all three
drop materialized view if exists analytics.acquisition_monthly;
drop materialized view if exists analytics.funnel_conversion;
drop materialized view if exists analytics.funnel_user_steps;
delete from meta.view_definitions where name in ('acquisition_monthly', 'funnel_conversion', 'funnel_user_steps');

-- one row per aggregate still to be built in full from the core facts (its step deletes the row)
create table core.aggregate_backfills (
    aggregate text primary key
);

-- one row per UTC day, from the first to the latest day with activity (quiet days included)
create table core.agg_daily_active_users (
    activity_date date primary key,
    dau integer not null,
    wau integer not null,
    mau integer not null,
    stickiness numeric
);


-- one row per UTC day per platform with at least one active person (on their main platform that day)
create table core.agg_platform_daily_activity (
    activity_date date not null,
    platform text not null,
    active_users integer not null check (active_users > 0),
    track_events bigint not null,
    feature_uses bigint not null,
    primary key (activity_date, platform)
);

insert into core.aggregate_backfills (aggregate) values ('agg_platform_daily_activity');

-- one row per UTC day with at least one session starting on it
create table core.agg_daily_sessions (
    session_date date primary key,
    sessions integer not null check (sessions > 0),
    users integer not null,
    avg_session_seconds numeric not null,
    median_session_seconds numeric not null,
    avg_events_per_session numeric not null
);

insert into core.aggregate_backfills (aggregate) values ('agg_daily_sessions');

-- one row per period kind (day, week, month) per period with an active or a dormant person
create table core.agg_user_lifecycle (
    period text not null check (period in ('day', 'week', 'month')),
    period_start date not null,
    new_users integer not null,
    returning_users integer not null,
    resurrecting_users integer not null,
    dormant_users integer not null,
    primary key (period, period_start)
);

insert into core.aggregate_backfills (aggregate) values ('agg_user_lifecycle');

-- one row per funnel per person per step they reached (step 1 = they entered the funnel)
create table core.agg_funnel_user_steps (
    funnel text not null,
    user_id text not null,
    step integer not null check (step >= 1),
    entered_at timestamptz not null,
    window_ends_at timestamptz not null,
    reached_at timestamptz not null,
    seconds_to_step numeric not null,
    primary key (funnel, user_id, step)
);
create index agg_funnel_user_steps_user on core.agg_funnel_user_steps (user_id);

-- one row per funnel step that core.agg_funnel_user_steps was built from (a changed funnel is rebuilt)
create table core.agg_funnel_definitions (
    funnel text not null,
    step integer not null,
    event_name text not null,
    property_filters jsonb not null,
    window_days integer not null,
    primary key (funnel, step)
);

insert into core.aggregate_backfills (aggregate) values ('agg_funnel_user_steps');

-- one row per calendar month (UTC) with at least one payment event
create table core.agg_billing_monthly (
    month date primary key,
    payments_succeeded integer not null,
    collected_cents numeric,
    payments_failed integer not null,
    failed_cents numeric
);

insert into core.aggregate_backfills (aggregate) values ('agg_billing_monthly');

-- one row per person per feature they used
create table core.agg_feature_users (
    user_id text not null,
    feature text not null,
    uses integer not null,
    primary key (user_id, feature)
);

insert into core.aggregate_backfills (aggregate) values ('agg_feature_users');
"""

DOWNGRADE = """
-- the analytics objects that read these tables, plain or materialized (the next refresh re-creates what the
-- code still lists)
do $$
declare
    object record;
begin
    for object in
        select c.relname, c.relkind from pg_class as c
        inner join pg_namespace as n on c.relnamespace = n.oid
        where n.nspname = 'analytics' and c.relname in (
            'daily_active_users', 'platform_daily_activity', 'daily_sessions', 'user_lifecycle',
            'acquisition_monthly', 'funnel_conversion', 'funnel_user_steps', 'billing_monthly', 'feature_adoption'
        )
    loop
        execute format('drop %s if exists analytics.%I cascade',
                       case object.relkind when 'm' then 'materialized view' else 'view' end, object.relname);
    end loop;
end $$;
delete from meta.view_definitions where name in (
    'daily_active_users', 'platform_daily_activity', 'daily_sessions', 'user_lifecycle', 'acquisition_monthly',
    'funnel_conversion', 'funnel_user_steps', 'billing_monthly', 'feature_adoption'
);
drop table core.agg_daily_active_users;
drop table core.agg_platform_daily_activity;
drop table core.agg_daily_sessions;
drop table core.agg_user_lifecycle;
drop table core.agg_funnel_definitions;
drop table core.agg_funnel_user_steps;
drop table core.agg_billing_monthly;
drop table core.agg_feature_users;
drop table core.aggregate_backfills;
"""


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (core only: no grants)
    """Create the core aggregate tables, each marked for one full build."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Drop the core aggregate tables (and the analytics views that read them)."""
    op.execute(DOWNGRADE)
