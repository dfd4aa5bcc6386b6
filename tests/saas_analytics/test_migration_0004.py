"""Migration 0004 on a warehouse at 0003: view fingerprints move to meta, audit stages get task-id names."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from psycopg import sql
from psycopg.conninfo import make_conninfo

from saas_analytics import pipeline, warehouse

OLD_STAGES = ("load", "staging", "core", "check_raw_staging_core", "refresh_analytics", "check_analytics",
              "ml_churn_train")


def test_runs_recorded_at_0003_keep_their_status(pg_server: dict) -> None:
    name = f"saas_mig4_{os.getpid()}"
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    conninfo = make_conninfo(pg_server["admin"], dbname=name)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(warehouse.__file__).parent / "migrations"))
    cfg.attributes["conninfo"] = conninfo
    try:
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
    finally:
        with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
