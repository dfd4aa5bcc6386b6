"""analytics.pipeline_run_summary: one definition of a run's status, read by record_run and the run cards."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from pipeline_helpers import run_pipeline
from saas_analytics import pipeline
from saas_analytics.dashboards.definitions import load_dashboards, render_sql
from saas_analytics.simulator import SimulationConfig, simulate

CARDS = {c.ref: c for d in load_dashboards() for c in d.cards}


def summary_row(conninfo: str, run_id: str) -> tuple:
    with psycopg.connect(conninfo) as conn:
        pipeline.run_summary(conn, run_id)  # creates the view on a warehouse that never refreshed
        return conn.execute("select status, failed_stages, missing_stages from analytics.pipeline_run_summary"
                            " where run_id = %s", [run_id]).fetchone()


def card_statuses(conninfo: str) -> dict[str, str]:
    """run id → status, as the Pipeline runs card shows it."""
    query, params = render_sql(CARDS["pipeline_health/recent_runs"].sql, {})
    with psycopg.connect(conninfo) as conn:
        cur = conn.execute(query.encode(), params)
        columns = [c.name for c in cur.description]
        return {r[columns.index("run_id")]: r[columns.index("status")] for r in cur.fetchall()}


def test_a_run_killed_after_load_is_running_then_failed_never_success(warehouse_db: str, landing_dir: Path) -> None:
    simulate(SimulationConfig(days=3, users=20, seed=1), landing_dir)
    pipeline.load(warehouse_db, "killed", landing_dir)

    assert summary_row(warehouse_db, "killed") == (
        "running", [], ["staging", "core", "data_tests_core", "refresh_analytics", "data_tests_analytics"])
    assert card_statuses(warehouse_db) == {"killed": "running"}

    with pytest.raises(pipeline.RunFailed, match="staging did not run"):
        pipeline.record_run(warehouse_db, "killed", "saas_analytics_daily", None, None)
    assert summary_row(warehouse_db, "killed")[0] == "failed"
    assert card_statuses(warehouse_db) == {"killed": "failed"}
    with psycopg.connect(warehouse_db) as conn:
        assert conn.execute("select status, files_loaded from analytics.pipeline_runs").fetchall() == [("failed", 3)]


def test_a_complete_run_is_a_success_and_a_failed_stage_fails_it(warehouse_db: str, landing_dir: Path) -> None:
    simulate(SimulationConfig(days=3, users=20, seed=1), landing_dir)
    run_pipeline(warehouse_db, landing_dir, run_id="good")
    totals = pipeline.record_run(warehouse_db, "good", "saas_analytics_daily", None, None)
    assert summary_row(warehouse_db, "good") == ("success", [], [])
    assert totals["files_loaded"] == 3 and totals["lines_read"] > 0

    with pytest.raises(RuntimeError), pipeline.recorded_stage(warehouse_db, "bad", "staging"):
        raise RuntimeError("boom")
    assert summary_row(warehouse_db, "bad")[:2] == ("failed", ["staging"]), "a failed stage fails the run at once"
    assert card_statuses(warehouse_db) == {"good": "success", "bad": "failed"}
