"""
### saas_analytics_daily

The SaaS analytics warehouse, end to end, once a day at 02:00 UTC:

1. **load** — every landing file not yet loaded → `raw.events` (COPY; a file registry makes it exactly-once)
2. **staging** — type, validate, dedupe by `message_id`; bad lines → `staging.quarantine` with a reason
3. **core** — incremental star schema (`dim_*`, `fact_*`)
4. **checks** — Airflow's SQL check operators and `sql/tests/assert_*.sql`; any failure fails the run. They
   look at what the runs touched since the checks last passed (files staged, core events and person-days
   rebuilt: `meta.check_scope_*`), and at all history on the run dated `DATA_CHECKS_FULL_WEEKDAY` (default
   Sunday) or with `DATA_CHECKS_FULL=1` (`saas-analytics run --full-checks`)
5. **refresh** — the `analytics` views (DAU/WAU/MAU, retention, feature adoption, MRR, run summary)
6. **ml** — churn model (train when due — weekly — evaluate, promote or not; then score), behavioural segments and KPI
   anomalies, then plain-language insights (one slice per `as_of`; `saas_analytics.ml`)
7. **record** — one row per run in `analytics.pipeline_runs`

A run needs no logical date: the same work happens for a scheduled run, a manual trigger from the UI
and the first run after a week of downtime. Task bodies and check specs: `saas_analytics.dag_tasks`;
each task records its audit stage under its task id.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator, SQLTableCheckOperator
from airflow.sdk import dag, task

from saas_analytics import dag_tasks


def step(task_id: str):
    """A task that runs `dag_tasks.STEPS[task_id]`."""
    @task(task_id=task_id, doc=dag_tasks.STEPS[task_id].doc, **dag_tasks.STEPS[task_id].options)
    def body(dag=None, run_id=None, dag_run=None) -> dict:
        return dag_tasks.run(task_id, dag, run_id, dag_run)

    return body()


@dag(
    dag_id="saas_analytics_daily",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=False,
    doc_md=__doc__,
    tags=["saas-analytics", "warehouse"],
    default_args=dag_tasks.DEFAULT_ARGS,
    user_defined_macros={"check_scope": dag_tasks.check_scope},  # the SQL check operators' scope
)
def saas_analytics_daily():
    """Load → staging → core → checks → refresh analytics → ML scores → record the run."""
    load, staging, core, core_tests = step("load"), step("staging"), step("core"), step("data_tests_core")
    column_checks = [SQLColumnCheckOperator(task_id=t, **spec) for t, spec in dag_tasks.COLUMN_CHECKS.items()]
    table_checks = [SQLTableCheckOperator(task_id=t, **spec) for t, spec in dag_tasks.TABLE_CHECKS.items()]
    refresh, analytics_tests = step("refresh_analytics"), step("data_tests_analytics")
    trained, scored = step("train_churn_model"), step("score_churn_risk")
    segmented, anomalies = step("segment_users"), step("detect_kpi_anomalies")

    load >> staging >> core >> [core_tests, *column_checks, *table_checks] >> refresh >> analytics_tests
    analytics_tests >> [trained, segmented, anomalies]
    trained >> scored
    [scored, segmented, anomalies] >> step("write_insights") >> step("record_run")


saas_analytics_daily()
