"""The bodies of the `saas_analytics_daily` tasks and its SQL check specs; the DAG file only wires them.

Light on purpose: the DAG processor imports this module when it parses the DAG, so it imports nothing
heavy and touches no database at import time. Each task body resolves the warehouse connection from
the Airflow connection named in the DAG's `default_args["conn_id"]`, imports its library code, and
records its audit stage under its own task id (what `analytics.pipeline_run_summary` reads).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
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

# Airflow's SQL check operators, by task id: columns of core.fact_events, rows of the daily activity fact —
# scoped like the data checks to what the runs touched (the operators' templated `partition_clause` and
# `table` call the macro `check_scope`), all of it on the weekly full sweep.
COLUMN_CHECKS: dict[str, dict[str, Any]] = {
    "check_fact_events_columns": {
        "table": "core.fact_events",
        "partition_clause": "{{ check_scope('fact_events', dag_run) }}",
        "column_mapping": {
            "message_id": {"null_check": {"equal_to": 0}, "unique_check": {"equal_to": 0}},
            "event_type": {"null_check": {"equal_to": 0}},  # user_id (the person) is null for nobody's events
            "event_at": {"null_check": {"equal_to": 0}},
        },
    },
}
TABLE_CHECKS: dict[str, dict[str, Any]] = {
    "check_daily_activity_table": {
        # On an empty table MIN(check) is NULL, which the operator cannot parse ("'none' is not a
        # boolean-like string value"): the right join adds one all-NULL row, which passes, to an empty table.
        # The scope is a derived table in `table`, not a partition_clause: the right join must add its row
        # after the scope filtered the rows out (an empty scope is an empty table).
        "table": "{{ check_scope('daily_activity', dag_run) }} as activity right join (select 1) as nonempty on true",
        "checks": {
            "positive_counts": {
                "check_statement": "user_id is null or (activity_events > 0 and track_events <= activity_events"
                                   " and feature_uses <= track_events)"},
            "first_before_last": {"check_statement": "user_id is null or first_event_at <= last_event_at"},
        },
    },
}


# The SQL operators' scope: (SQL in a full sweep, else the template around sql/checks/<file>.sql, the file).
OPERATOR_SCOPES: dict[str, tuple[str, str, str]] = {
    "fact_events": ("true", "message_id in ({})", "scope_fact_events"),
    "daily_activity": ("core.fact_daily_user_activity", "({})", "scope_daily_activity"),
}


def full_sweep(dag_run: Any) -> bool:
    """True when this DAG run checks all history: DATA_CHECKS_FULL, or its date is DATA_CHECKS_FULL_WEEKDAY.

    The date is the run's logical date, else (a manual run in Airflow 3 may have none) when it was due.
    """
    from saas_analytics.config import get_settings

    settings = get_settings()
    when = getattr(dag_run, "logical_date", None) or getattr(dag_run, "run_after", None)
    weekly = settings.data_checks_full_weekday is not None and when is not None \
        and when.weekday() == settings.data_checks_full_weekday
    return settings.data_checks_full or weekly


def check_scope(name: str, dag_run: Any) -> str:
    """The SQL (a where clause or a table) of a SQL check operator: everything in a full sweep, else the scope."""
    from saas_analytics.config import get_settings

    full, template, file = OPERATOR_SCOPES[name]
    if full_sweep(dag_run):
        return full
    select = (get_settings().sql_dir / "checks" / f"{file}.sql").read_text().strip().rstrip(";")
    return template.format(select)


@dataclass(frozen=True)
class Step:
    """One task: the library function it calls ("module:function"), what it does, its extra arguments."""

    target: str
    doc: str
    args: tuple = ()
    options: dict = field(default_factory=dict)  # extra task arguments (trigger rule, retries)
    kwargs: dict = field(default_factory=dict)  # extra keyword arguments of the library function


UNCHANGED = {"skip_unchanged": True}  # skip the work when nothing it reads changed since it last succeeded
# task id → step; the task id is also the stage name in analytics.pipeline_run_stages
STEPS: dict[str, Step] = {
    "load": Step("saas_analytics.pipeline:load", "Load every landing file not yet loaded into raw.events."),
    "staging": Step("saas_analytics.pipeline:build_layer", "Type, validate and deduplicate the new raw lines.",
                    ("staging",)),
    "core": Step("saas_analytics.pipeline:build_layer", "Merge the new staged events into the star schema.",
                 ("core",)),
    "data_tests_core": Step("saas_analytics.pipeline:check", "Run sql/tests/assert_{raw,staging,core}_*.sql "
                            "on what changed since they last passed (all history on DATA_CHECKS_FULL_WEEKDAY).",
                            (("raw", "staging", "core"),), kwargs=UNCHANGED),
    "refresh_analytics": Step("saas_analytics.pipeline:refresh", "Refresh (or create) the analytics views "
                              "(skipped when nothing changed since the last refresh).", kwargs=UNCHANGED),
    "data_tests_analytics": Step("saas_analytics.pipeline:check",
                                 "Run sql/tests/assert_analytics_*.sql (the MRR roll-forward …).", (("analytics",),),
                                 kwargs=UNCHANGED),
    "train_churn_model": Step("saas_analytics.ml.tasks:train_churn_model", "When due (CHURN_RETRAIN_DAYS, or the "
                              "champion's ROC AUC on the newest matured date fell > CHURN_RETRAIN_AUC_DROP), train "
                              "and evaluate the churn model on a temporal holdout; promote it unless the champion is "
                              "better."),
    "score_churn_risk": Step("saas_analytics.ml.tasks:score_churn_risk", "Score the active users with the promoted "
                             "model → analytics.churn_risk_scores (+ drivers).", kwargs=UNCHANGED),
    "segment_users": Step("saas_analytics.ml.tasks:segment_users", "K-Means behavioural segments → "
                          "analytics.user_segments and segment_profiles.", kwargs=UNCHANGED),
    "detect_kpi_anomalies": Step("saas_analytics.ml.tasks:detect_kpi_anomalies", "Daily signups, DAU and net new MRR "
                                 "against a seasonal baseline → analytics.metric_anomalies.",
                                 kwargs=UNCHANGED),
    "write_insights": Step("saas_analytics.ml.tasks:write_insights", "Plain-language statements with their numbers "
                           "→ analytics.insights.", kwargs=UNCHANGED),
    # runs once whatever happened upstream (its arguments come from the DAG run), and never repeats
    "record_run": Step("saas_analytics.pipeline:record_run", "Write the run's summary row to "
                       "analytics.pipeline_runs, failed runs included (then fail).",
                       options={"trigger_rule": "all_done", "retries": 0}),
}


def run(task_id: str, dag: Any, run_id: str, dag_run: Any = None) -> dict:
    """Run one task's library function against the warehouse named by the DAG's `default_args["conn_id"]`."""
    from saas_analytics.pipeline import conninfo_from_airflow

    step = STEPS[task_id]
    module, _, name = step.target.partition(":")
    function = getattr(importlib.import_module(module), name)
    conninfo = conninfo_from_airflow(dag.default_args.get("conn_id", WAREHOUSE_CONN_ID))
    if task_id == "record_run":
        return function(conninfo, run_id, dag_run.dag_id, dag_run.logical_date, dag_run.start_date)
    if step.target == "saas_analytics.pipeline:check":  # the weekly full sweep falls on the run's date
        return function(conninfo, run_id, *step.args, **step.kwargs, full=full_sweep(dag_run))
    return function(conninfo, run_id, *step.args, **step.kwargs)
