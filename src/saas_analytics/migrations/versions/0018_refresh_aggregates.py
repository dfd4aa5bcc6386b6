"""Core aggregates for the last full-refresh analytics views (issue 10, third pass); core.backfill_requested.

`analytics.user_retention_cohorts`, `funnel_conversion`, `acquisition_monthly`, `revenue_retention_cohorts`
and `mrr_monthly` re-read every person-day, funnel entrant, person or person-month on each refresh. Each now
reads a month-grain table the core layer keeps (`sql/core/<table>.sql`: only the months a run's changes
affect are recounted), marked in `core.aggregate_backfills` for one full build by the next run (a warehouse
that already holds history). `core.backfill_requested(name)` is the one definition of "the aggregate must be
built in full" that every `agg_*` step reads.

Revision ID: 0018
Revises: 0013
Create Date: 2026-12-01
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

VIEWS = ("user_retention_cohorts", "funnel_conversion", "acquisition_monthly", "revenue_retention_cohorts",
         "mrr_monthly")
AGGREGATES = ("agg_acquisition_monthly", "agg_user_retention_cohorts", "agg_funnel_conversion",
              "agg_mrr_monthly", "agg_revenue_retention_cohorts")

# The five views over the new aggregates: dropped (and their recorded definitions forgotten) both ways, so
# the next refresh re-creates them from the SQL of the revision it runs at.
DROP_VIEWS = """
drop materialized view if exists analytics.user_retention_cohorts;
drop materialized view if exists analytics.funnel_conversion;
drop materialized view if exists analytics.acquisition_monthly;
drop materialized view if exists analytics.revenue_retention_cohorts;
drop materialized view if exists analytics.mrr_monthly;
delete from meta.view_definitions where name in (
    'user_retention_cohorts', 'funnel_conversion', 'acquisition_monthly', 'revenue_retention_cohorts', 'mrr_monthly'
);
"""

UPGRADE = """
-- true while core.aggregate_backfills asks for a full build of the aggregate (its step deletes the row)
create function core.backfill_requested(aggregate_name text) returns boolean
language sql stable parallel safe
as $$
    select exists (
        select from core.aggregate_backfills as backfills
        where backfills.aggregate = aggregate_name
    )
$$;

-- one row per signup month per acquisition channel with at least one signup
create table core.agg_acquisition_monthly (
    signup_month date not null,
    channel text not null,
    signups bigint not null check (signups > 0),
    activated_users bigint not null,
    paid_users bigint not null,
    primary key (signup_month, channel)
);

-- one row per activity month per signup cohort month (at or before it) with a member active in it
create table core.agg_user_retention_cohorts (
    activity_month date not null,
    cohort_month date not null,
    retained_users bigint not null check (retained_users > 0),
    primary key (activity_month, cohort_month)
);

-- one row per funnel per entry month with an entrant per step of the funnel, counted as of data_through
create table core.agg_funnel_conversion (
    funnel text not null,
    cohort_month date not null,
    step integer not null,
    entered_users bigint not null,
    eligible_users bigint not null,
    reached_users bigint not null,
    median_seconds_to_step double precision,
    data_through timestamptz,
    primary key (funnel, cohort_month, step)
);

-- the entrants of a funnel's month, for the recount of that month
create index agg_funnel_user_steps_entries on core.agg_funnel_user_steps (funnel, entered_at) where step = 1;

-- one row per month with a row in core.fact_mrr_monthly: its sums and counts (the types sum and count give)
create table core.agg_mrr_monthly (
    month date primary key,
    mrr_cents numeric not null,
    start_cents numeric not null,
    customers bigint not null,
    customers_start bigint not null,
    new_cents numeric,
    reactivation_cents numeric,
    expansion_cents numeric,
    contraction_cents numeric,
    churned_cents numeric,
    churned_involuntary_cents numeric,
    new_customers bigint not null,
    reactivated_customers bigint not null,
    churned_customers bigint not null
);

-- one row per first-paid-month cohort per month (from the cohort month on) with a member row in it
create table core.agg_revenue_retention_cohorts (
    month date not null,
    cohort_month date not null,
    active_customers bigint not null,
    mrr_cents numeric not null,
    primary key (month, cohort_month)
);

insert into core.aggregate_backfills (aggregate) values
('agg_acquisition_monthly'), ('agg_user_retention_cohorts'), ('agg_funnel_conversion'), ('agg_mrr_monthly'),
('agg_revenue_retention_cohorts')
on conflict do nothing;

-- the views become reads of these tables: the next refresh re-creates them from their new SQL
""" + DROP_VIEWS

DOWNGRADE = DROP_VIEWS + """
delete from core.aggregate_backfills where aggregate in (
    'agg_acquisition_monthly', 'agg_user_retention_cohorts', 'agg_funnel_conversion', 'agg_mrr_monthly',
    'agg_revenue_retention_cohorts'
);
drop table core.agg_acquisition_monthly;
drop table core.agg_user_retention_cohorts;
drop table core.agg_funnel_conversion;
drop index core.agg_funnel_user_steps_entries;
drop table core.agg_mrr_monthly;
drop table core.agg_revenue_retention_cohorts;
drop function core.backfill_requested(text);
"""


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (core only: no grants)
    """Create core.backfill_requested and the five aggregate tables, each marked for one full build."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Drop the five aggregate tables and the views over them (the next refresh re-creates those views)."""
    op.execute(DOWNGRADE)
