"""Fixtures of the ML tests: one simulated warehouse with planted incidents, the ML tasks already run once."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

# 120 days × ~1,000 users: enough labelled weeks for a purged temporal holdout with ~900 training and
# ~1,000 test observations (a stable AUC), and five incidents after the detector's 4-week warm-up.
ML_INCIDENTS = (
    ("signup_spike", date(2026, 7, 1)),
    ("outage", date(2026, 7, 15)),
    ("signup_spike", date(2026, 8, 5)),
    ("outage", date(2026, 8, 26)),
    ("signup_spike", date(2026, 9, 16)),
)
ML_SIMULATION = {"start": date(2026, 6, 1), "days": 120, "users": 1000, "seed": 5}


@dataclass(frozen=True)
class MlWarehouse:
    """The ML test warehouse: its connection string, landing folder, planted incidents and first outputs."""

    conninfo: str
    landing: Path
    incidents: tuple
    start: date
    days: int
    first_run: dict
    seconds: dict


@pytest.fixture(scope="session")
def ml_warehouse(pg_server: dict, migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> MlWarehouse:
    """A warehouse after the pipeline and every ML task ran once over the incident simulation (read-only!)."""
    from pipeline_helpers import run_pipeline
    from saas_analytics.ml import tasks
    from saas_analytics.simulator import Incident, SimulationConfig, simulate

    landing = tmp_path_factory.mktemp("ml") / "landing"
    incidents = tuple(Incident(kind, day) for kind, day in ML_INCIDENTS)
    simulate(SimulationConfig(**ML_SIMULATION, incidents=incidents), landing)
    name = f"saas_ml_{os.getpid()}"
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(
            sql.Identifier(name), sql.Identifier(migrated_template)))
    conninfo = make_conninfo(pg_server["admin"], dbname=name)
    run_pipeline(conninfo, landing, run_id="ml-pipeline")
    first, seconds = {}, {}
    for step in ("train_churn_model", "score_churn_risk", "segment_users", "detect_kpi_anomalies",
                 "write_insights"):
        started = time.perf_counter()
        first[step] = getattr(tasks, step)(conninfo, "ml-run-1")
        seconds[step] = round(time.perf_counter() - started, 2)
    return MlWarehouse(conninfo=conninfo, landing=landing, incidents=incidents, start=ML_SIMULATION["start"],
                       days=ML_SIMULATION["days"], first_run=first, seconds=seconds)
