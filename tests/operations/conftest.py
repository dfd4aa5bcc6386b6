"""An isolated Airflow (metadata database, AIRFLOW_HOME) and CLI environment per test, on the test server."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

# Fast retries in the test's Airflow only, so a retried task shows up as try 2 within seconds; the
# DAG's own retry count (2) is kept, so a task that is *not* retried is visibly not retried.
FAST_RETRY_POLICY = '''
from datetime import timedelta


def task_policy(task):
    task.retry_delay = timedelta(seconds=1)
    task.retry_exponential_backoff = False
'''


@dataclass
class Deployment:
    """Settings and the matching environment for `saas-analytics` subprocesses."""

    settings: object
    env: dict[str, str]
    warehouse: str
    metadata: str

    def cli(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """Run the installed CLI entry point with this deployment's environment."""
        return subprocess.run([sys.executable, "-c", "from saas_analytics.cli import main; main()", *args],
                              env=self.env, capture_output=True, text=True, timeout=timeout)

    def popen(self, *args: str) -> subprocess.Popen:
        """Start the CLI in its own process group (so a test can kill the whole group)."""
        return subprocess.Popen([sys.executable, "-c", "from saas_analytics.cli import main; main()", *args],
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)

    def try_numbers(self, run_id: str | None = None) -> dict[str, int]:
        """task_id → try_number of a run (default: the latest run)."""
        with psycopg.connect(self.metadata) as conn:
            if run_id is None:
                run_id = conn.execute("select run_id from dag_run order by id desc limit 1").fetchone()[0]
            return dict(conn.execute("select task_id, try_number from task_instance where run_id = %s",
                                     [run_id]).fetchall())

    def dag_runs(self) -> list[tuple[str, str]]:
        """(run_id, state) of every DagRun, oldest first."""
        with psycopg.connect(self.metadata) as conn:
            return conn.execute("select run_id, state from dag_run order by id").fetchall()


def _deployment(pg_server: dict, warehouse_db: str, tmp_path: Path, template: str | None) -> Iterator[Deployment]:
    """An Airflow metadata database (a copy of `template`, or empty) and a data folder around the test warehouse."""
    name = f"saas_opsaf_{os.getpid()}_{tmp_path.name[-12:].replace('-', '_')}"
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        if template:
            conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                          sql.Identifier(template)))
        else:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    metadata = make_conninfo(pg_server["admin"], dbname=name)
    data = tmp_path / "data"
    settings = dataclasses.replace(pg_server["settings"], database_url=warehouse_db, airflow_database_url=metadata,
                                   data_dir=data, landing_dir=data / "landing", airflow_home=data / "airflow")
    settings.landing_dir.mkdir(parents=True)
    (settings.airflow_home / "config").mkdir(parents=True)
    (settings.airflow_home / "config" / "airflow_local_settings.py").write_text(FAST_RETRY_POLICY)
    env = {k: v for k, v in os.environ.items() if k != "WAREHOUSE_PGDATA"}
    env.update({"DATABASE_URL": warehouse_db, "AIRFLOW_DATABASE_URL": metadata, "DATA_DIR": str(data),
                "LANDING_DIR": str(settings.landing_dir), "AIRFLOW_HOME": str(settings.airflow_home),
                "LANDING_SETTLE_SECONDS": "0"})
    yield Deployment(settings, env, warehouse_db, metadata)
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def deployment(pg_server: dict, warehouse_db: str, airflow_metadata_template: str,
               tmp_path: Path) -> Iterator[Deployment]:
    """A deployment whose Airflow metadata database is already migrated (a copy of the session's template)."""
    yield from _deployment(pg_server, warehouse_db, tmp_path, airflow_metadata_template)


@pytest.fixture
def first_deployment(pg_server: dict, warehouse_db: str, tmp_path: Path) -> Iterator[Deployment]:
    """A first install: the Airflow metadata database exists and is empty."""
    yield from _deployment(pg_server, warehouse_db, tmp_path, None)
