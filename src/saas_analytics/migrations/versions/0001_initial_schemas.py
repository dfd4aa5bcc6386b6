"""Initial layered schemas: raw, staging, core, analytics.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMAS = """
create schema if not exists raw;
create schema if not exists staging;
create schema if not exists core;
create schema if not exists analytics;
"""

RAW = """
-- one row per load batch (one loader invocation, usually one DAG run)
create table raw.load_batches (
    batch_id bigint generated always as identity primary key,
    run_id text,
    started_at timestamptz not null default clock_timestamp(),
    finished_at timestamptz,
    files_seen integer not null default 0,
    files_loaded integer not null default 0,
    files_skipped integer not null default 0,
    files_failed integer not null default 0
);

-- one row per landing file ever loaded: the registry that makes loads exactly-once
create table raw.load_files (
    file_id bigint generated always as identity primary key,
    file_name text not null unique,
    sha256 text not null,
    size_bytes bigint not null,
    batch_id bigint not null references raw.load_batches,
    lines_read integer not null,
    lines_loaded integer not null,
    lines_rejected integer not null,
    load_seconds numeric(12, 3) not null,
    loaded_at timestamptz not null default now(),
    constraint load_files_lines_add_up check (lines_read = lines_loaded + lines_rejected)
);
create index load_files_sha256 on raw.load_files (sha256);

-- one row per landing file that could not be loaded (changed after loading, unreadable)
create table raw.load_failures (
    failure_id bigint generated always as identity primary key,
    batch_id bigint not null references raw.load_batches,
    file_name text not null,
    sha256 text,
    reason text not null,
    failed_at timestamptz not null default clock_timestamp()
);

-- one row per landing line that parsed as JSON, exactly as received. No foreign key to load_files:
-- a per-row FK trigger would halve COPY throughput; the loader writes both in one transaction and
-- sql/tests/assert_raw_lines_reconcile.sql checks them.
create table raw.events (
    file_id bigint not null,
    line_no integer not null,
    payload jsonb not null,
    loaded_at timestamptz not null default now(),
    primary key (file_id, line_no)
);

-- one row per landing line that is not valid JSON text, kept verbatim with the parser's reason
create table raw.rejected_lines (
    file_id bigint not null references raw.load_files,
    line_no integer not null,
    raw_line text not null,
    reason text not null,
    primary key (file_id, line_no)
);
"""

STAGING = """
-- one row per valid, deduplicated event (first loaded copy of each message_id)
create table staging.events (
    message_id text primary key,
    event_type text not null check (event_type in ('track', 'identify')),
    event_name text,
    user_id text not null,
    event_at timestamptz not null,
    event_date date not null,
    received_at timestamptz,
    properties jsonb not null,
    traits jsonb not null,
    context jsonb not null,
    file_id bigint not null,
    line_no integer not null,
    staged_seq bigint generated always as identity unique,
    staged_at timestamptz not null default now()
);
create index staging_events_file on staging.events (file_id);

-- one row per landing line that is not a valid event, with the first rule it breaks
create table staging.quarantine (
    file_id bigint not null references raw.load_files,
    line_no integer not null,
    reason text not null,
    detail text,
    message_id text,
    raw_line text not null,
    quarantined_at timestamptz not null default now(),
    primary key (file_id, line_no)
);
create index quarantine_reason on staging.quarantine (reason);

-- one row per valid landing line whose message_id was already staged from an earlier line
create table staging.duplicates (
    file_id bigint not null references raw.load_files,
    line_no integer not null,
    message_id text not null,
    primary key (file_id, line_no)
);

-- one row per loaded file that staging has processed, with the reconciliation of its lines
create table staging.staged_files (
    file_id bigint primary key references raw.load_files,
    valid_events integer not null,
    quarantined integer not null,
    duplicates integer not null,
    staged_at timestamptz not null default now()
);
"""

CORE = """
-- one row per incremental step: the last staging.events.staged_seq it has processed
create table core.watermarks (
    step text primary key,
    last_staged_seq bigint not null default 0,
    updated_at timestamptz not null default now()
);
insert into core.watermarks (step) values ('core');

-- one row per calendar day 2015-01-01 .. 2045-12-31
create table core.dim_date (
    date_day date primary key,
    year integer not null,
    quarter integer not null,
    month integer not null,
    month_start date not null,
    week_start date not null,
    iso_day_of_week integer not null,
    day_name text not null,
    is_weekend boolean not null
);
insert into core.dim_date
select
    d::date,
    extract(year from d)::int,
    extract(quarter from d)::int,
    extract(month from d)::int,
    date_trunc('month', d)::date,
    date_trunc('week', d)::date,
    extract(isodow from d)::int,
    trim(to_char(d, 'Day')),
    extract(isodow from d) in (6, 7)
from generate_series('2015-01-01'::date, '2045-12-31'::date, interval '1 day') as d;

-- one row per user; personal data stays out (email only as its domain)
create table core.dim_users (
    user_id text primary key,
    signup_at timestamptz,
    signup_date date,
    acquisition_channel text,
    first_seen_at timestamptz not null,
    last_seen_at timestamptz not null,
    company text,
    country text,
    email_domain text,
    traits_updated_at timestamptz,
    first_platform text,
    updated_at timestamptz not null default now()
);

-- one row per feature name seen in feature_used events
create table core.dim_features (
    feature text primary key,
    first_used_at timestamptz not null,
    last_used_at timestamptz not null
);

-- one row per document id seen in document events
create table core.dim_documents (
    document_id text primary key,
    first_user_id text not null,
    first_event_at timestamptz not null,
    last_event_at timestamptz not null
);

-- one row per plan name seen in subscription events
create table core.dim_plans (
    plan text primary key,
    billing_period text,
    min_mrr_cents bigint not null,
    max_mrr_cents bigint not null,
    first_seen_at timestamptz not null
);

-- one row per valid, deduplicated event
create table core.fact_events (
    message_id text primary key,
    user_id text not null references core.dim_users deferrable initially deferred,
    event_type text not null,
    event_name text,
    event_at timestamptz not null,
    event_date date not null,
    received_at timestamptz,
    platform text,
    feature text,
    document_id text,
    session_id text,
    properties jsonb not null,
    file_id bigint not null,
    line_no integer not null
);
create index fact_events_user_date on core.fact_events (user_id, event_date);
create index fact_events_session on core.fact_events (session_id) where session_id is not null;
create index fact_events_date on core.fact_events (event_date);

-- one row per subscription_started / _changed / _cancelled event
create table core.fact_subscription_events (
    message_id text primary key references core.fact_events,
    user_id text not null,
    event_name text not null,
    event_at timestamptz not null,
    plan text,
    billing_period text,
    mrr_cents bigint not null check (mrr_cents >= 0),
    file_id bigint not null,
    line_no integer not null
);
create index fact_subscription_events_user on core.fact_subscription_events (user_id, event_at);

-- one row per session (events sharing properties.session_id)
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

-- one row per user per UTC day with at least one valid track event
create table core.fact_daily_user_activity (
    user_id text not null,
    activity_date date not null,
    track_events integer not null,
    feature_uses integer not null,
    distinct_features integer not null,
    document_events integer not null,
    first_event_at timestamptz not null,
    last_event_at timestamptz not null,
    platform text,
    primary key (user_id, activity_date)
);
create index fact_daily_user_activity_date on core.fact_daily_user_activity (activity_date);
"""

ANALYTICS = """
-- one row per pipeline run (written by the DAG's last task)
create table analytics.pipeline_runs (
    run_id text primary key,
    dag_id text not null,
    logical_date timestamptz,
    started_at timestamptz not null,
    finished_at timestamptz,
    status text not null,
    files_loaded integer,
    lines_read bigint,
    events_loaded bigint,
    quarantined bigint,
    duplicates bigint,
    seconds numeric(12, 3)
);

-- one row per pipeline run per stage
create table analytics.pipeline_run_stages (
    run_id text not null,
    stage text not null,
    status text not null,
    rows_affected bigint,
    seconds numeric(12, 3),
    detail jsonb,
    recorded_at timestamptz not null default clock_timestamp(),
    primary key (run_id, stage)
);
"""

# PostgreSQL 16+ checks input without exceptions; older servers use an exception block.
# ISO-8601 with an explicit offset, seconds and at most microseconds: what the event contract accepts.
ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-](0\d|1[0-4]):[0-5]\d)$"
# PostgreSQL 16+ checks input without exceptions; older servers use an exception block.
TIMESTAMP_CHECK_16 = f"""
create function staging.is_valid_timestamptz(value text) returns boolean
language sql immutable parallel safe
return value ~ '{ISO_TIMESTAMP}' and pg_input_is_valid(value, 'timestamptz');
"""
TIMESTAMP_CHECK_15 = f"""
create function staging.is_valid_timestamptz(value text) returns boolean
language plpgsql immutable parallel safe as $$
begin
    if value !~ '{ISO_TIMESTAMP}' then
        return false;
    end if;
    perform value::timestamptz;
    return true;
exception when others then
    return false;
end $$;
"""


def upgrade(reader_role: str = "analytics_reader") -> None:
    """Create the four layers."""
    op.execute(SCHEMAS)
    op.execute(RAW)
    op.execute(STAGING)
    version = op.get_bind().exec_driver_sql("show server_version_num").scalar()
    op.execute(TIMESTAMP_CHECK_16 if int(version) >= 160000 else TIMESTAMP_CHECK_15)
    op.execute(CORE)
    op.execute(ANALYTICS)
    op.execute(
        f"""
        do $$
        begin
            if exists (select 1 from pg_roles where rolname = '{reader_role}') then
                execute 'grant usage on schema analytics to {reader_role}';
                execute 'grant select on all tables in schema analytics to {reader_role}';
                execute 'alter default privileges in schema analytics grant select on tables to {reader_role}';
                execute 'revoke all on schema raw, staging, core from {reader_role}';
            end if;
        end $$;
        """
    )


def downgrade(reader_role: str = "analytics_reader") -> None:
    """Drop everything (data included)."""
    op.execute("drop schema if exists analytics, core, staging, raw cascade")
