"""The DAG itself: it imports cleanly, and real Airflow runs of it produce the reference metrics."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pipeline_helpers import assert_matches_reference
from saas_analytics import airflow_runner
from saas_analytics.config import DAG_ID
from saas_analytics.simulator import SimulationConfig, simulate

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


def test_dag_imports_without_errors_and_is_configured_for_daily_operation():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    dag = bag.dags.get(DAG_ID)
    assert dag is not None
    assert dag.timetable.expression == "0 2 * * *" and str(dag.timetable.timezone) == "UTC"
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.doc_md and "saas_analytics_daily" in dag.doc_md
    for task in dag.tasks:
        if task.task_id == "record_run":  # runs once whatever happened upstream, and must not repeat
            assert task.trigger_rule == "all_done" and task.retries == 0
        else:
            assert task.retries >= 2 and task.retry_exponential_backoff, task.task_id
    order = ["load", "staging", "core", "data_tests_core", "refresh_analytics", "data_tests_analytics"]
    for upstream, downstream in zip(order, order[1:], strict=False):
        assert upstream in dag.get_task(downstream).upstream_task_ids
    for check in ("check_fact_events_columns", "check_daily_activity_table"):
        assert dag.get_task("refresh_analytics").upstream_task_ids >= {check}


@pytest.fixture
def airflow_settings(pg_server: dict, warehouse_db: str, airflow_metadata_template: str, tmp_path: Path):
    """Settings that point Airflow at a migrated metadata database of its own and the test warehouse."""
    name = f"saas_airflow_{os.getpid()}_{tmp_path.name[-12:].replace('-', '_')}"
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(
            sql.Identifier(name), sql.Identifier(airflow_metadata_template)))
    settings = dataclasses.replace(
        pg_server["settings"],
        database_url=warehouse_db,
        airflow_database_url=make_conninfo(pg_server["admin"], dbname=name),
        data_dir=tmp_path / "data",
        landing_dir=tmp_path / "landing",
        airflow_home=tmp_path / "airflow",
    )
    settings.landing_dir.mkdir(parents=True)
    yield settings
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def table_rows(conninfo: str, query: str) -> list[tuple]:
    """All rows of a query."""
    with psycopg.connect(conninfo) as conn:
        return conn.execute(query).fetchall()


@pytest.mark.airflow
def test_airflow_runs_produce_the_reference_metrics_and_a_rerun_changes_nothing(airflow_settings, warehouse_db):
    landing = airflow_settings.landing_dir
    simulate(SimulationConfig(days=40, users=250, seed=5, malformed_rate=0.01, duplicate_rate=0.03,
                              late_rate=0.05), landing)

    assert airflow_runner.run_dag(settings=airflow_settings) == 0
    assert_matches_reference(warehouse_db, landing)
    runs = table_rows(warehouse_db, "select status, files_loaded, lines_read, events_loaded, quarantined,"
                      " duplicates from analytics.pipeline_runs")
    assert len(runs) == 1
    status, files, lines, events, quarantined, duplicates = runs[0]
    assert status == "success" and files == 40 and events + quarantined + duplicates == lines

    analytics_before = {v: table_rows(warehouse_db, f"select * from analytics.{v} order by 1")
                        for v in ("daily_active_users", "mrr_monthly", "feature_adoption")}
    core_before = table_rows(warehouse_db, "select count(*), max(message_id) from core.fact_events")

    assert airflow_runner.run_dag(settings=airflow_settings) == 0
    for view, rows in analytics_before.items():
        assert table_rows(warehouse_db, f"select * from analytics.{view} order by 1") == rows
    assert table_rows(warehouse_db, "select count(*), max(message_id) from core.fact_events") == core_before
    second = table_rows(warehouse_db, "select files_loaded, lines_read from analytics.pipeline_runs"
                        " order by started_at desc limit 1")
    assert second == [(0, 0)]


@pytest.mark.airflow
def test_the_run_dated_on_the_sweep_weekday_checks_everything_and_the_next_checks_its_scope(
        airflow_settings, warehouse_db, tmp_path, monkeypatch):
    from datetime import date

    monkeypatch.setenv("DATA_CHECKS_FULL_WEEKDAY", "sunday")
    monkeypatch.delenv("DATA_CHECKS_FULL", raising=False)
    simulated = tmp_path / "simulated"
    simulate(SimulationConfig(days=6, users=40, seed=3), simulated)
    files = sorted(p for p in simulated.rglob("*") if p.is_file())
    for path in files[:-1]:  # every day but the last
        target = airflow_settings.landing_dir / path.relative_to(simulated)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.replace(target)
    assert airflow_runner.run_dag(date(2026, 6, 7), settings=airflow_settings) == 0  # a Sunday
    last = files[-1]
    (airflow_settings.landing_dir / last.relative_to(simulated)).parent.mkdir(parents=True, exist_ok=True)
    last.replace(airflow_settings.landing_dir / last.relative_to(simulated))
    assert airflow_runner.run_dag(date(2026, 6, 8), settings=airflow_settings) == 0  # a Monday, one new file
    modes = table_rows(warehouse_db, "select detail ->> 'mode', detail -> 'scope' ->> 'reason', detail -> 'scope'"
                       " ->> 'files' from analytics.pipeline_run_stages where stage = 'data_tests_core'"
                       " order by recorded_at")
    assert [m[0] for m in modes] == ["full", "scoped"]
    assert "weekly full sweep" in modes[0][1]
    assert modes[1][2] == "1"  # the Monday run checked the one new file
