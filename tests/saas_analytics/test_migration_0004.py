"""Migration 0004 on a warehouse at 0003: view fingerprints move to meta, audit stages get task-id names."""

from __future__ import annotations

import psycopg
from alembic import command
from alembic.config import Config

from saas_analytics import pipeline

OLD_STAGES = ("load", "staging", "core", "check_raw_staging_core", "refresh_analytics", "check_analytics",
              "ml_churn_train")


def test_runs_recorded_at_0003_keep_their_status(scratch_db: tuple[str, Config]) -> None:
    conninfo, cfg = scratch_db
    command.upgrade(cfg, "0003")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for stage in OLD_STAGES:
            conn.execute("insert into analytics.pipeline_run_stages (run_id, stage, status)"
                         " values ('old', %s, 'success')", [stage])
    command.upgrade(cfg, "head")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        assert pipeline.run_status(conn, "old") == ("success", [])
        stages = {r[0] for r in conn.execute("select stage from analytics.pipeline_run_stages")}
        assert conn.execute("select count(*) from meta.view_definitions").fetchone()[0] == 1  # the summary
    assert stages == {"load", "staging", "core", "data_tests_core", "refresh_analytics", "data_tests_analytics",
                      "train_churn_model"}
