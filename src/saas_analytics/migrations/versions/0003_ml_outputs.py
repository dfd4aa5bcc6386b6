"""ML outputs: churn risk scores and drivers, model runs, segments, KPI anomalies, insights.

Every output is a slice per `as_of` (the latest activity date in core when the run happened): a run
replaces its own slice in one transaction, so re-runs are idempotent and history is kept. The DESIGN
contract objects keyed by `user_id` — `analytics.churn_risk_scores` and `analytics.user_segments` —
are views on the latest slice of the history tables.

Model artifacts (pickled scikit-learn pipelines) live in the private schema `ml`, which the BI reader
role cannot see: only the pipeline's own role writes or reads them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

import re

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = """
create schema if not exists ml;

-- one row per churn model version (a training run; re-training the same data gives the same version)
create table analytics.ml_model_runs (
    model_version text primary key,
    model_name text not null,
    as_of date not null,
    run_id text,
    trained_at timestamptz not null,
    algorithm text not null,
    feature_list text[] not null,
    params jsonb not null,
    train_rows integer not null,
    test_rows integer not null,
    train_from date not null,
    train_to date not null,
    test_from date not null,
    test_to date not null,
    base_rate double precision not null,
    roc_auc double precision not null,
    pr_auc double precision not null,
    brier double precision not null,
    top_decile_lift double precision,
    shuffled_roc_auc double precision not null,
    champion_version text,
    champion_roc_auc double precision,
    promoted boolean not null,
    decision text not null,
    metrics jsonb not null
);
create index ml_model_runs_as_of on analytics.ml_model_runs (model_name, as_of);

-- one row per model version and kind: the evaluation fit (judged on the holdout) and the production fit
create table ml.model_artifacts (
    model_version text not null references analytics.ml_model_runs on delete cascade,
    kind text not null check (kind in ('evaluation', 'production')),
    artifact bytea not null,
    sha256 text not null,
    sklearn_version text not null,
    created_at timestamptz not null default now(),
    primary key (model_version, kind)
);

-- one row per as_of per user in that day's population (active in the 30 days through as_of)
create table analytics.churn_risk_score_history (
    as_of date not null,
    user_id text not null,
    churn_probability double precision not null check (churn_probability between 0 and 1),
    risk_band text not null check (risk_band in ('low', 'medium', 'high')),
    model_version text not null,
    scored_at timestamptz not null,
    plan text not null,
    mrr numeric(14, 2) not null,
    top_drivers text not null,
    primary key (as_of, user_id)
);

-- DESIGN contract: one row per user, the latest slice
create view analytics.churn_risk_scores as
select
    user_id,
    churn_probability,
    risk_band,
    model_version,
    scored_at,
    as_of,
    plan,
    mrr,
    top_drivers
from analytics.churn_risk_score_history
where as_of = (select max(as_of) from analytics.churn_risk_score_history);

-- one row per as_of, user and rank: the features that raise that user's risk most
create table analytics.churn_risk_drivers (
    as_of date not null,
    user_id text not null,
    driver_rank smallint not null,
    feature text not null,
    description text not null,
    feature_value double precision not null,
    contribution double precision not null,
    primary key (as_of, user_id, driver_rank),
    foreign key (as_of, user_id) references analytics.churn_risk_score_history on delete cascade
);

-- one row per as_of per user active in the 90 days through as_of
create table analytics.user_segment_history (
    as_of date not null,
    user_id text not null,
    segment_id integer not null,
    segment_name text not null,
    primary key (as_of, user_id)
);

-- DESIGN contract: one row per user, the latest slice
create view analytics.user_segments as
select
    user_id,
    segment_id,
    segment_name,
    as_of
from analytics.user_segment_history
where as_of = (select max(as_of) from analytics.user_segment_history);

-- one row per as_of per segment: size and centroid in readable units
create table analytics.segment_profiles (
    as_of date not null,
    segment_id integer not null,
    segment_name text not null,
    users integer not null,
    share double precision not null,
    active_days_30d double precision not null,
    events_30d double precision not null,
    distinct_features_30d double precision not null,
    document_events_30d double precision not null,
    recency_days double precision not null,
    tenure_days double precision not null,
    paying_users integer not null,
    mrr numeric(14, 2) not null,
    k integer not null,
    silhouette double precision,
    primary key (as_of, segment_id)
);

-- one row per as_of, metric and day flagged as anomalous
create table analytics.metric_anomalies (
    as_of date not null,
    metric text not null,
    date date not null,
    value double precision not null,
    expected double precision not null,
    score double precision not null,
    direction text not null check (direction in ('up', 'down')),
    primary key (as_of, metric, date)
);

-- a handful of plain-language statements per as_of, with the numbers behind them
create table analytics.insights (
    as_of date not null,
    insight_key text not null,
    position integer not null,
    category text not null,
    headline text not null,
    value double precision,
    reference_value double precision,
    unit text,
    detail jsonb not null default '{}',
    primary key (as_of, insight_key)
);
"""

OBJECTS = (
    "ml_model_runs", "churn_risk_score_history", "churn_risk_scores", "churn_risk_drivers",
    "user_segment_history", "user_segments", "segment_profiles", "metric_anomalies", "insights",
)

GRANTS = """
do $$
declare
    reader text default {role};
begin
    if exists (select 1 from pg_roles where rolname = reader) then
        execute 'grant usage on schema analytics to ' || quote_ident(reader);
        execute 'grant select on {objects} to ' || quote_ident(reader);
        execute 'revoke all on schema ml from ' || quote_ident(reader);
    end if;
end $$;
"""


def _literal(role: str) -> str:
    """The role name as an SQL string literal (plain identifiers only)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", role):
        raise ValueError(f"reader role name {role!r} must be a plain identifier")
    return "'" + role + "'"


def upgrade(reader_role: str = "analytics_reader") -> None:
    """Create the ML output tables and views, readable by the BI role."""
    op.execute(TABLES)
    objects = ", ".join(f"analytics.{name}" for name in OBJECTS)
    op.execute(GRANTS.replace("{role}", _literal(reader_role)).replace("{objects}", objects))


def downgrade(reader_role: str = "analytics_reader") -> None:
    """Drop the ML outputs (data included)."""
    op.execute(
        """
        drop view if exists analytics.churn_risk_scores, analytics.user_segments;
        drop table if exists analytics.churn_risk_drivers, analytics.churn_risk_score_history,
            analytics.user_segment_history, analytics.segment_profiles, analytics.metric_anomalies,
            analytics.insights, ml.model_artifacts, analytics.ml_model_runs;
        drop schema if exists ml;
        """
    )
