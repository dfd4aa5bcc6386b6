"""
### saas_analytics_daily

The SaaS analytics warehouse, end to end, once a day at 02:00 UTC:

1. **load** — every landing file not yet loaded → `raw.events` (COPY; a file registry makes it exactly-once)
2. **staging** — type, validate, dedupe by `message_id`; bad lines → `staging.quarantine` with a reason
3. **core** — incremental star schema (`dim_*`, `fact_*`)
4. **checks** — Airflow's SQL check operators and `sql/tests/assert_*.sql`; any failure fails the run
5. **refresh** — the `analytics` materialized views (DAU/WAU/MAU, retention, feature adoption, MRR)
6. **ml** — churn model (train, evaluate, promote or not; then score), behavioural segments and KPI
   anomalies, then plain-language insights: `analytics.churn_risk_scores`, `user_segments`,
   `metric_anomalies`, `insights`, `ml_model_runs` (one slice per `as_of`; `saas_analytics.ml`)
7. **record** — one row per run in `analytics.pipeline_runs`

A run needs no logical date: the same work happens for a scheduled run, a manual trigger from the UI
and the first run after a week of downtime (it catches up on every file landed meanwhile).
All logic lives in `saas_analytics` (`src/`); this file only wires tasks.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.common.sql.operators.sql import SQLCheckOperator, SQLColumnCheckOperator
from airflow.sdk import dag, task

WAREHOUSE_CONN_ID = "saas_warehouse"


@dag(
    dag_id="saas_analytics_daily",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=False,
    doc_md=__doc__,
    tags=["saas-analytics", "warehouse"],
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    },
)
def saas_analytics_daily():
    """Load → staging → core → checks → refresh analytics → ML scores → record the run."""

    @task
    def load(run_id=None) -> dict:
        """Load every landing file not yet loaded into raw.events."""
        from saas_analytics import pipeline

        return pipeline.load(pipeline.conninfo_from_airflow(WAREHOUSE_CONN_ID), run_id)

    @task
    def staging(run_id=None) -> dict:
        """Type, validate and deduplicate the new raw lines."""
        from saas_analytics import pipeline

        return pipeline.build_layer(pipeline.conninfo_from_airflow(WAREHOUSE_CONN_ID), run_id, "staging")

    @task
    def core(run_id=None) -> dict:
        """Merge the new staged events into the star schema."""
        from saas_analytics import pipeline

        return pipeline.build_layer(pipeline.conninfo_from_airflow(WAREHOUSE_CONN_ID), run_id, "core")

    @task
    def data_tests_core(run_id=None) -> dict:
        """Run sql/tests/assert_{raw,staging,core}_*.sql."""
        from saas_analytics import pipeline

        return pipeline.check(pipeline.conninfo_from_airflow(WAREHOUSE_CONN_ID), run_id, pipeline.CORE_TEST_LAYERS)

    @task
    def refresh_analytics(run_id=None) -> dict:
        """Refresh the analytics materialized views."""
        from saas_analytics import pipeline

        return pipeline.refresh(pipeline.conninfo_from_airflow(WAREHOUSE_CONN_ID), run_id)

    @task
    def data_tests_analytics(run_id=None) -> dict:
        """Run sql/tests/assert_analytics_*.sql (e.g. the MRR roll-forward)."""
        from saas_analytics import pipeline

        return pipeline.check(
            pipeline.conninfo_from_airflow(WAREHOUSE_CONN_ID), run_id, pipeline.ANALYTICS_TEST_LAYERS
        )

    @task
    def train_churn_model(run_id=None) -> dict:
        """Train and evaluate the churn model on a temporal holdout; promote it unless the champion is better."""
        from saas_analytics import pipeline
        from saas_analytics.ml import tasks

        return tasks.train_churn_model(pipeline.conninfo_from_airflow(WAREHOUSE_CONN_ID), run_id)

    @task
    def score_churn_risk(run_id=None) -> dict:
        """Score the active users with the promoted model → analytics.churn_risk_scores (+ drivers)."""
        from saas_analytics import pipeline
        from saas_analytics.ml import tasks

        return tasks.score_churn_risk(pipeline.conninfo_from_airflow(WAREHOUSE_CONN_ID), run_id)

    @task
    def segment_users(run_id=None) -> dict:
        """K-Means behavioural segments → analytics.user_segments and segment_profiles."""
        from saas_analytics import pipeline
        from saas_analytics.ml import tasks

        return tasks.segment_users(pipeline.conninfo_from_airflow(WAREHOUSE_CONN_ID), run_id)

    @task
    def detect_kpi_anomalies(run_id=None) -> dict:
        """Daily signups, DAU and net new MRR against a seasonal baseline → analytics.metric_anomalies."""
        from saas_analytics import pipeline
        from saas_analytics.ml import tasks

        return tasks.detect_kpi_anomalies(pipeline.conninfo_from_airflow(WAREHOUSE_CONN_ID), run_id)

    @task
    def write_insights(run_id=None) -> dict:
        """Plain-language statements with their numbers → analytics.insights."""
        from saas_analytics import pipeline
        from saas_analytics.ml import tasks

        return tasks.write_insights(pipeline.conninfo_from_airflow(WAREHOUSE_CONN_ID), run_id)

    @task(trigger_rule="all_done", retries=0)
    def record_run(run_id=None, dag_run=None) -> dict:
        """Write the run's summary row to analytics.pipeline_runs, failed runs included (then fail)."""
        from saas_analytics import pipeline

        return pipeline.record_run(
            pipeline.conninfo_from_airflow(WAREHOUSE_CONN_ID), run_id, dag_run.dag_id,
            dag_run.logical_date, dag_run.start_date,
        )

    check_fact_events_columns = SQLColumnCheckOperator(
        task_id="check_fact_events_columns",
        conn_id=WAREHOUSE_CONN_ID,
        table="core.fact_events",
        column_mapping={
            "message_id": {"null_check": {"equal_to": 0}, "unique_check": {"equal_to": 0}},
            "event_type": {"null_check": {"equal_to": 0}},
            "event_at": {"null_check": {"equal_to": 0}},
        },
    )
    # SQLTableCheckOperator fails on an empty table (MIN() of no rows is NULL): one row of coalesced checks instead
    check_daily_activity_table = SQLCheckOperator(
        task_id="check_daily_activity_table",
        conn_id=WAREHOUSE_CONN_ID,
        sql="select coalesce(bool_and(activity_events > 0 and track_events <= activity_events"
            " and feature_uses <= track_events), true) as positive_counts,"
            " coalesce(bool_and(first_event_at <= last_event_at), true) as first_before_last"
            " from core.fact_daily_user_activity",
    )

    loaded = load()
    staged = staging()
    built = core()
    core_tests = data_tests_core()
    refreshed = refresh_analytics()
    loaded >> staged >> built >> [core_tests, check_fact_events_columns, check_daily_activity_table] >> refreshed
    analytics_tests = data_tests_analytics()
    refreshed >> analytics_tests
    trained, segmented, anomalies = train_churn_model(), segment_users(), detect_kpi_anomalies()
    scored = score_churn_risk()
    analytics_tests >> [trained, segmented, anomalies]
    trained >> scored
    [scored, segmented, anomalies] >> write_insights() >> record_run()


saas_analytics_daily()
