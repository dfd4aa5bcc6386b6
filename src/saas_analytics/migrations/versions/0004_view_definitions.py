"""View fingerprints out of comments: `meta.view_definitions` holds each analytics view's SQL fingerprint.

Until 0003 the runner stored `sha256:…` as each materialized view's comment, which Metabase and psql's
`\\d+` show as the table's description. From now on the comment is the object's real description
(grain and definition, from `sql/analytics/<name>.yml`) and the fingerprint lives here, in a schema the
read-only BI role cannot see. Views without a row are re-created by the next analytics refresh, which
replaces the old fingerprint comments.

Audit stages are named after their DAG tasks from now on; the stages of earlier runs are renamed so
`analytics.pipeline_run_summary` judges old runs by the same required stages.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = """
create schema if not exists meta;

-- one row per analytics view the transform runner created: the fingerprint of the SQL it was created from
create table meta.view_definitions (
    name text primary key,
    fingerprint text not null,
    created_at timestamptz not null default now()
);

-- audit stages = DAG task ids (the stages earlier runs recorded under other names)
update analytics.pipeline_run_stages
set stage = case stage
    when 'check_raw_staging_core' then 'data_tests_core'
    when 'check_analytics' then 'data_tests_analytics'
    when 'ml_churn_train' then 'train_churn_model'
    when 'ml_churn_score' then 'score_churn_risk'
    when 'ml_segments' then 'segment_users'
    when 'ml_anomalies' then 'detect_kpi_anomalies'
    when 'ml_insights' then 'write_insights'
end
where stage in (
    'check_raw_staging_core', 'check_analytics', 'ml_churn_train', 'ml_churn_score', 'ml_segments',
    'ml_anomalies', 'ml_insights'
);
"""


def upgrade(reader_role: str = "analytics_reader") -> None:
    """Create meta.view_definitions."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:
    """Drop the meta schema (the next refresh re-creates every view); audit stage names stay."""
    op.execute("drop schema if exists meta cascade")
