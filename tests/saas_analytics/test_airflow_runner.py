"""Airflow's environment for this project (secrets, auth, connection) and the DAG's scheduling semantics."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from saas_analytics import airflow_runner
from saas_analytics.config import DAG_ID, Settings, get_settings

WAREHOUSE_URL = "host=db.example.internal port=5433 user=pipeline password=s3cr3t dbname=warehouse"
METADATA_URL = "host=db.example.internal port=5433 user=airflow password=af dbname=airflow"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings pointing at an external server (nothing needs to run) and a private data folder."""
    for name in ("AIRFLOW_PORT", "AIRFLOW_HOST", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
                 "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CORE__DAGS_FOLDER"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    base = get_settings()
    return replace(base, data_dir=tmp_path / "data", landing_dir=tmp_path / "data" / "landing",
                   airflow_home=tmp_path / "data" / "airflow", database_url=WAREHOUSE_URL,
                   airflow_database_url=METADATA_URL)


def test_env_derives_airflow_from_the_project_settings(settings: Settings) -> None:
    env = airflow_runner.airflow_env(settings)
    assert env["AIRFLOW_HOME"] == str(settings.airflow_home)
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(settings.project_dir / "dags")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "False"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == (
        "postgresql+psycopg2://airflow:af@db.example.internal:5433/airflow")
    # The warehouse reaches tasks through Airflow's own mechanism, from the same settings as the CLI.
    conn = json.loads(env["AIRFLOW_CONN_SAAS_WAREHOUSE"])
    assert conn == {"conn_type": "postgres", "host": "db.example.internal", "port": 5433, "login": "pipeline",
                    "password": "s3cr3t", "schema": "warehouse"}
    assert env["LANDING_DIR"] == str(settings.landing_dir) and env["DATA_DIR"] == str(settings.data_dir)
    assert env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] == str(settings.airflow_home / "logs")


def test_env_turns_authentication_on(settings: Settings) -> None:
    env = airflow_runner.airflow_env(settings)
    assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("simple_auth_manager.SimpleAuthManager")
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "False"
    passwords = Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    assert passwords.parent == settings.airflow_home
    stored = json.loads(passwords.read_text())
    assert list(stored) == ["admin"] and len(stored["admin"]) >= 16


def test_secrets_are_generated_once_private_and_shared_by_every_process(settings: Settings) -> None:
    from cryptography.fernet import Fernet

    first = airflow_runner.airflow_env(settings)
    second = airflow_runner.airflow_env(settings)
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"):
        assert first[key] and first[key] == second[key], key
    assert len(first["AIRFLOW__API_AUTH__JWT_SECRET"]) >= 32
    Fernet(first["AIRFLOW__CORE__FERNET_KEY"].encode())  # a valid key
    password, created = airflow_runner.admin_password(settings)
    assert not created and json.loads(airflow_runner.passwords_file(settings).read_text()) == {"admin": password}
    for path in (airflow_runner.secrets_file(settings), airflow_runner.passwords_file(settings)):
        assert path.stat().st_mode & 0o777 == 0o600, path
        path.chmod(0o644)
    airflow_runner.airflow_env(settings)  # re-tightens loosened files
    assert airflow_runner.secrets_file(settings).stat().st_mode & 0o777 == 0o600
    # Different installations get different secrets.
    other = replace(settings, airflow_home=settings.airflow_home.parent / "other-airflow")
    assert airflow_runner.airflow_env(other)["AIRFLOW__API_AUTH__JWT_SECRET"] != first["AIRFLOW__API_AUTH__JWT_SECRET"]


def test_secrets_live_in_the_ignored_data_folder_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AIRFLOW_HOME", "DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("saas_analytics.config.load_dotenv", lambda *a, **k: None)
    get_settings.cache_clear()
    try:
        default = get_settings()
    finally:
        get_settings.cache_clear()
    assert default.airflow_home == default.project_dir / "data" / "airflow"
    for path in (airflow_runner.secrets_file(default), airflow_runner.passwords_file(default)):
        ignored = subprocess.run(["git", "-C", str(default.project_dir), "check-ignore", "-q", str(path)],
                                 check=False)
        assert ignored.returncode in (0, 128), f"{path} is not ignored by git"  # 128: not a git checkout


def test_operator_provided_secrets_and_executor_win(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "from-the-vault")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    env = airflow_runner.airflow_env(settings)
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "from-the-vault"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_api_port_and_host(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    env = airflow_runner.airflow_env(settings)
    assert (env["AIRFLOW__API__HOST"], env["AIRFLOW__API__PORT"]) == ("127.0.0.1", "8080")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8080/execution/"
    # AIRFLOW_PORT and AIRFLOW_HOST are settings (config.Settings), read from the environment
    monkeypatch.setenv("AIRFLOW_PORT", "18123")
    monkeypatch.setenv("AIRFLOW_HOST", "0.0.0.0")
    get_settings.cache_clear()
    try:
        from_env = get_settings()
        assert (from_env.airflow_host, from_env.airflow_port) == ("0.0.0.0", 18123)
        settings = replace(settings, airflow_host=from_env.airflow_host, airflow_port=from_env.airflow_port)
        env = airflow_runner.airflow_env(settings)
        assert (env["AIRFLOW__API__HOST"], env["AIRFLOW__API__PORT"]) == ("0.0.0.0", "18123")
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18123/execution/"
        assert airflow_runner.api_url(settings) == "http://127.0.0.1:18123"
        # every Airflow process (and the CLI its tasks run) sees the same settings
        assert (env["AIRFLOW_HOST"], env["AIRFLOW_PORT"]) == ("0.0.0.0", "18123")
        monkeypatch.setenv("AIRFLOW_PORT", "http")
        get_settings.cache_clear()
        with pytest.raises(ValueError, match="AIRFLOW_PORT"):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_connection_json_for_a_unix_socket_server() -> None:
    conn = json.loads(airflow_runner.airflow_connection_json("host=/tmp/pg port=5444 user=postgres dbname=wh"))
    assert conn == {"conn_type": "postgres", "host": "/tmp/pg", "port": 5444, "login": "postgres", "schema": "wh"}
    assert conninfo_to_dict("host=/tmp/pg dbname=wh")["host"] == "/tmp/pg"


# --- the DAG's scheduling semantics, as Airflow parses it ------------------------------------------


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    project = Path(__file__).resolve().parents[2]
    bag = DagBag(dag_folder=str(project / "dags"), bundle_path=project / "dags")
    assert not bag.import_errors, bag.import_errors
    return bag.dags[DAG_ID]


def test_dag_runs_daily_at_two_utc_without_catchup(dag) -> None:
    timetable = dag.timetable  # the cron fires at 02:00 UTC; a run's logical date is that instant
    assert type(timetable).__name__ == "CronTriggerTimetable", timetable
    assert timetable.expression == "0 2 * * *" and str(timetable.timezone) == "UTC"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.is_paused_upon_creation is False


def test_every_task_retries_with_exponential_backoff(dag) -> None:
    """Every task that does the work retries; a bookkeeping task that runs whatever happened
    (trigger rule all_done, e.g. record_run) may not, since a retry would only repeat its verdict."""
    working = [task for task in dag.tasks if str(task.trigger_rule) in ("all_success", "TriggerRule.ALL_SUCCESS")]
    assert len(working) >= 7, [t.task_id for t in dag.tasks]
    for task in working:
        assert task.retries >= 1, task.task_id
        backoff = task.retry_exponential_backoff  # a multiplier; True means 2 (Airflow's deserializer)
        assert (2.0 if backoff is True else float(backoff)) > 1, task.task_id
        assert timedelta(0) < task.retry_delay <= timedelta(minutes=5), task.task_id
        assert task.max_retry_delay is not None and task.max_retry_delay <= timedelta(hours=1), task.task_id


def test_no_task_needs_a_logical_date(dag) -> None:
    """A UI trigger has no logical date: templates using ds/ts/logical_date/data_interval would fail."""
    needs_date = ("ds", "ts", "logical_date", "data_interval_start", "data_interval_end")
    for task in dag.tasks:
        for name in task.template_fields:
            value = str(getattr(task, name, "") or "")
            assert not any(f"{{{{ {key}" in value or f"{{{{{key}" in value for key in needs_date), (task.task_id, name)


# --- whether Airflow's metadata database needs `airflow db migrate` ---------------------------------


def _migration(folder: Path, name: str, revision: str, down: str) -> None:
    (folder / f"{name}.py").write_text(f'"""{name}."""\n\nrevision = "{revision}"\ndown_revision = {down}\n'
                                       "branch_labels = None\n", encoding="utf-8")


def test_the_head_revision_is_the_one_no_migration_replaces(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "__init__.py").write_text("", encoding="utf-8")
    _migration(versions, "0001_base", "4bc4d934e2bc", "None")
    _migration(versions, "0002_left", "1b2c3d4e5f6g", '"4bc4d934e2bc"')  # Airflow has one id that is not hex
    _migration(versions, "0003_right", "a1", '"4bc4d934e2bc"')
    assert airflow_runner.airflow_head_revision(versions) is None  # two heads: not one answer
    (versions / "0004_merge.py").write_text('revision: str = "m9"\ndown_revision: tuple[str, str] = (\n'
                                            '    "1b2c3d4e5f6g",\n    "a1",\n)\n', encoding="utf-8")
    assert airflow_runner.airflow_head_revision(versions) == "m9"
    _migration(versions, "0005_next", "z7", "'m9'")
    assert airflow_runner.airflow_head_revision(versions) == "z7"
    assert airflow_runner.airflow_head_revision(tmp_path / "missing") is None


def _metadata_settings(pg_server: dict, name: str, tmp_path: Path) -> Settings:
    return replace(pg_server["settings"], airflow_database_url=make_conninfo(pg_server["admin"], dbname=name),
                   data_dir=tmp_path / "data", airflow_home=tmp_path / "data" / "airflow")


def test_the_head_is_where_airflow_db_migrate_leaves_the_database(
        pg_server: dict, airflow_metadata_template: str, tmp_path: Path) -> None:
    """The oracle is Airflow itself: the session's template was migrated by `airflow db migrate`."""
    settings = _metadata_settings(pg_server, airflow_metadata_template, tmp_path)
    with psycopg.connect(airflow_runner.airflow_conninfo(settings)) as conn:
        migrated_to = conn.execute("select version_num from alembic_version").fetchone()[0]
    assert airflow_runner.airflow_head_revision() == migrated_to
    assert airflow_runner.metadata_is_current(settings)


def test_migration_is_skipped_only_for_a_database_at_the_head(
        pg_server: dict, airflow_metadata_template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"saas_afcheck_{os.getpid()}"
    settings = _metadata_settings(pg_server, name, tmp_path)
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(
            sql.Identifier(name), sql.Identifier(airflow_metadata_template)))
    calls: list[tuple] = []
    monkeypatch.setattr(airflow_runner, "airflow",
                        lambda *args, **kwargs: calls.append(args) or subprocess.CompletedProcess(args, 0, "", ""))
    try:
        assert airflow_runner.migrate_metadata(settings) is False and calls == []
        with psycopg.connect(airflow_runner.airflow_conninfo(settings), autocommit=True) as conn:
            conn.execute("update alembic_version set version_num = '405de8318b3a'")  # Airflow 2.7's head
            assert not airflow_runner.metadata_is_current(settings)
            assert airflow_runner.migrate_metadata(settings) is True and calls == [("db", "migrate")]
            conn.execute("update alembic_version set version_num = %s", [airflow_runner.airflow_head_revision()])
            assert airflow_runner.metadata_is_current(settings)
            # a provider with migrations of its own (FAB keeps alembic_version_fab): always Airflow's migrate
            conn.execute("create table alembic_version_fab (version_num varchar(32) primary key)")
            assert not airflow_runner.metadata_is_current(settings)
            conn.execute("drop table alembic_version_fab")
            monkeypatch.setenv("AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS", "some.provider.DBManager")
            assert not airflow_runner.metadata_is_current(settings)
            monkeypatch.delenv("AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS")
            settings.airflow_home.mkdir(parents=True, exist_ok=True)
            (settings.airflow_home / "airflow.cfg").write_text(
                "[database]\nexternal_db_managers = some.provider.DBManager\n", encoding="utf-8")
            assert not airflow_runner.metadata_is_current(settings)
            (settings.airflow_home / "airflow.cfg").write_text("[database]\n# external_db_managers =\n")
            assert airflow_runner.metadata_is_current(settings)
            conn.execute("drop table alembic_version")  # as an empty database: not migrated yet
            assert not airflow_runner.metadata_is_current(settings)
            # a migration that fails says so in one line, ending with Airflow's own last line
            monkeypatch.setattr(airflow_runner, "airflow", lambda *args, **kwargs: subprocess.CompletedProcess(
                args, 1, "", "Traceback …\nsqlalchemy.exc.OperationalError: permission denied for schema public\n"))
            with pytest.raises(airflow_runner.MetadataMigrationError,
                               match="^airflow db migrate failed: sqlalchemy.exc.OperationalError: permission denied"):
                airflow_runner.migrate_metadata(settings)
    finally:
        with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    # a server that cannot be reached: Airflow's own migrate runs and says what is wrong
    unreachable = replace(settings, airflow_database_url="host=127.0.0.1 port=1 dbname=airflow")
    assert not airflow_runner.metadata_is_current(unreachable)
