"""Runs Airflow for this project: its environment, its metadata database, and DAG runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from saas_analytics.config import DAG_ID, WAREHOUSE_CONN_ID, Settings, get_settings
from saas_analytics.warehouse import airflow_conninfo, sqlalchemy_url, warehouse_conninfo


def airflow_connection_json(conninfo: str) -> str:
    """The warehouse as an Airflow connection in JSON form (what AIRFLOW_CONN_<ID> accepts)."""
    params = conninfo_to_dict(conninfo)
    conn = {
        "conn_type": "postgres",
        "host": params.get("host"),
        "port": int(params["port"]) if params.get("port") else 5432,
        "login": params.get("user"),
        "password": params.get("password"),
        "schema": params.get("dbname"),
    }
    return json.dumps({k: v for k, v in conn.items() if v is not None})


def airflow_env(settings: Settings | None = None) -> dict[str, str]:
    """The environment every Airflow process of this project runs with."""
    settings = settings or get_settings()
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(settings.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTOR": env.get("AIRFLOW__CORE__EXECUTOR", "LocalExecutor"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(airflow_conninfo(settings), "psycopg2"),
        f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}": airflow_connection_json(warehouse_conninfo(settings)),
        "SAAS_PROJECT_DIR": str(settings.project_dir),
        "DATA_DIR": str(settings.data_dir),
        "LANDING_DIR": str(settings.landing_dir),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def airflow_bin() -> str:
    """The `airflow` executable of this environment."""
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else (shutil.which("airflow") or "airflow")


def airflow(*args: str, settings: Settings | None = None, check: bool = True,
            capture: bool = False) -> subprocess.CompletedProcess:
    """Run an `airflow` CLI command with the project's environment."""
    return subprocess.run(
        [airflow_bin(), *args], env=airflow_env(settings), check=check, text=True,
        capture_output=capture,
    )


def migrate_metadata(settings: Settings | None = None) -> None:
    """Create or upgrade Airflow's metadata database (the `airflow` database, never the warehouse)."""
    airflow("db", "migrate", settings=settings, capture=True)


def run_dag(logical_date: date | None = None, settings: Settings | None = None) -> int:
    """Run the DAG once through Airflow (`airflow dags test`); return Airflow's exit code."""
    migrate_metadata(settings)
    args = ["dags", "test", DAG_ID]
    if logical_date:
        args.append(logical_date.isoformat())
    return airflow(*args, settings=settings, check=False).returncode
