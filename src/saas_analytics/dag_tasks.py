"""The bodies of the `saas_analytics_daily` tasks and its SQL check specs; the DAG file only wires them.

Light on purpose: the DAG processor imports this module when it parses the DAG, so it imports nothing
heavy and touches no database at import time. Each task body resolves the warehouse connection from
the Airflow connection named in the DAG's `default_args["conn_id"]`, imports its library code, and
records its audit stage under its own task id (what `analytics.pipeline_run_summary` reads).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from saas_analytics.config import WAREHOUSE_CONN_ID

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "data-engineering",
    "conn_id": WAREHOUSE_CONN_ID,  # the SQL check operators take it from here; so do the task bodies
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}

# Airflow's SQL check operators, by task id: columns of core.fact_events, rows of the daily activity fact.
COLUMN_CHECKS: dict[str, dict[str, Any]] = {
    "check_fact_events_columns": {
        "table": "core.fact_events",
        "column_mapping": {
            "message_id": {"null_check": {"equal_to": 0}, "unique_check": {"equal_to": 0}},
            "user_id": {"null_check": {"equal_to": 0}},
            "event_at": {"null_check": {"equal_to": 0}},
        },
    },
}
TABLE_CHECKS: dict[str, dict[str, Any]] = {
    "check_daily_activity_table": {
        "table": "core.fact_daily_user_activity",
        "checks": {
            "positive_counts": {"check_statement": "track_events > 0 and feature_uses <= track_events"},
            "first_before_last": {"check_statement": "first_event_at <= last_event_at"},
        },
    },
}


def _load(conninfo: str, run_id: str, dag_run: Any) -> dict:
    """Load every landing file not yet loaded into raw.events."""
    from saas_analytics import pipeline

    return pipeline.load(conninfo, run_id)


def _layer(layer: str) -> Callable[[str, str, Any], dict]:
    """A task body that builds one incremental layer (staging or core) in one transaction."""
    def body(conninfo: str, run_id: str, dag_run: Any) -> dict:
        from saas_analytics import pipeline

        return pipeline.build_layer(conninfo, run_id, layer)

    body.__doc__ = {"staging": "Type, validate and deduplicate the new raw lines.",
                    "core": "Merge the new staged events into the star schema."}[layer]
    return body


def _data_tests(layers: str) -> Callable[[str, str, Any], dict]:
    """A task body that runs `sql/tests/assert_<layer>_*.sql` for the core or the analytics layers."""
    def body(conninfo: str, run_id: str, dag_run: Any) -> dict:
        from saas_analytics import pipeline

        return pipeline.check(conninfo, run_id, getattr(pipeline, layers))

    body.__doc__ = {"CORE_TEST_LAYERS": "Run sql/tests/assert_{raw,staging,core}_*.sql.",
                    "ANALYTICS_TEST_LAYERS": "Run sql/tests/assert_analytics_*.sql (the MRR roll-forward …)."}[layers]
    return body


def _refresh(conninfo: str, run_id: str, dag_run: Any) -> dict:
    """Refresh (or create) the analytics views."""
    from saas_analytics import pipeline

    return pipeline.refresh(conninfo, run_id)


def _ml(name: str, doc: str) -> Callable[[str, str, Any], dict]:
    """A task body that runs one ML step of `saas_analytics.ml.tasks`."""
    def body(conninfo: str, run_id: str, dag_run: Any) -> dict:
        from saas_analytics.ml import tasks

        return getattr(tasks, name)(conninfo, run_id)

    body.__doc__ = doc
    return body


def _record_run(conninfo: str, run_id: str, dag_run: Any) -> dict:
    """Write the run's summary row to analytics.pipeline_runs, failed runs included (then fail)."""
    from saas_analytics import pipeline

    return pipeline.record_run(conninfo, run_id, dag_run.dag_id, dag_run.logical_date, dag_run.start_date)


# task id → body; the task id is also the stage name in analytics.pipeline_run_stages
STEPS: dict[str, Callable[[str, str, Any], dict]] = {
    "load": _load,
    "staging": _layer("staging"),
    "core": _layer("core"),
    "data_tests_core": _data_tests("CORE_TEST_LAYERS"),
    "refresh_analytics": _refresh,
    "data_tests_analytics": _data_tests("ANALYTICS_TEST_LAYERS"),
    "train_churn_model": _ml("train_churn_model", "Train and evaluate the churn model on a temporal holdout; "
                             "promote it unless the champion is better."),
    "score_churn_risk": _ml("score_churn_risk", "Score the active users with the promoted model → "
                            "analytics.churn_risk_scores (+ drivers)."),
    "segment_users": _ml("segment_users", "K-Means behavioural segments → analytics.user_segments and "
                         "segment_profiles."),
    "detect_kpi_anomalies": _ml("detect_kpi_anomalies", "Daily signups, DAU and net new MRR against a seasonal "
                                "baseline → analytics.metric_anomalies."),
    "write_insights": _ml("write_insights", "Plain-language statements with their numbers → analytics.insights."),
    "record_run": _record_run,
}
# task id → extra task arguments: record_run runs once whatever happened upstream, and never repeats
TASK_OPTIONS: dict[str, dict[str, Any]] = {"record_run": {"trigger_rule": "all_done", "retries": 0}}


def doc(task_id: str) -> str:
    """The one-line description of a task (its body's docstring)."""
    return (STEPS[task_id].__doc__ or task_id).strip()


def run(task_id: str, dag: Any, run_id: str, dag_run: Any = None) -> dict:
    """Run one task's body against the warehouse named by the DAG's `default_args["conn_id"]`."""
    from saas_analytics.pipeline import conninfo_from_airflow

    conninfo = conninfo_from_airflow(dag.default_args.get("conn_id", WAREHOUSE_CONN_ID))
    return STEPS[task_id](conninfo, run_id, dag_run)
