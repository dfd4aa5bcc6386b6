"""Runs Airflow for this project: its environment, its metadata database, and DAG runs.

Every Airflow process of the project (the CLI, `airflow dags test`, and the long-running api-server,
scheduler, dag-processor and triggerer of `saas-analytics airflow start`) runs with `airflow_env()`:
one AIRFLOW_HOME under the data folder, the metadata database `airflow`, the warehouse connection as
AIRFLOW_CONN_SAAS_WAREHOUSE, and secrets generated once into AIRFLOW_HOME (mode 0600, never in the repo).
"""

from __future__ import annotations

import base64
import configparser
import contextlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
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


ADMIN_USER = "admin"
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


def secrets_file(settings: Settings) -> Path:
    """Where the local Airflow's generated secrets live (JWT secret, Fernet key, API secret key)."""
    return settings.airflow_home / "secrets.json"


def passwords_file(settings: Settings) -> Path:
    """SimpleAuthManager's password file (`[core] simple_auth_manager_passwords_file`): {"admin": "..."}."""
    return settings.airflow_home / "simple_auth_manager_passwords.json"


def _create_private_json(path: Path, content: dict) -> bool:
    """Write `content` to `path` (mode 0600) unless the file exists; True when this call created it.

    Atomic against concurrent callers: the file is complete before it appears (link of a temp file).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(content, handle)
            handle.write("\n")
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


def _read_private_json(path: Path) -> dict:
    """Read a secrets file, re-tightening its mode to 0600."""
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return json.loads(path.read_text() or "{}")


def local_secrets(settings: Settings | None = None) -> dict[str, str]:
    """The JWT secret, Fernet key and API secret key: generated on first use, then stable (0600 file)."""
    settings = settings or get_settings()
    path = secrets_file(settings)
    if not path.exists():
        _create_private_json(path, {
            "jwt_secret": secrets.token_urlsafe(48),
            "fernet_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "api_secret_key": secrets.token_urlsafe(48),
        })
    return _read_private_json(path)


def admin_password(settings: Settings | None = None) -> tuple[str, bool]:
    """The UI/API admin's password (generated on first use) and whether this call generated it."""
    settings = settings or get_settings()
    path = passwords_file(settings)
    created = False
    if not path.exists():
        alphabet = "abcdefghkmnpqrstuvwxyzABCDEFGHKMNPQRSTUVWXYZ23456789"
        created = _create_private_json(path, {ADMIN_USER: "".join(secrets.choice(alphabet) for _ in range(20))})
    passwords = _read_private_json(path)
    if ADMIN_USER not in passwords:
        raise RuntimeError(f"{path} has no password for user {ADMIN_USER!r}; delete the file to generate one")
    return passwords[ADMIN_USER], created


def api_url(settings: Settings | None = None) -> str:
    """Base URL of the local api-server (AIRFLOW_HOST, AIRFLOW_PORT), as clients on this machine reach it."""
    settings = settings or get_settings()
    host = settings.airflow_host
    host = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.airflow_port}"


def airflow_env(settings: Settings | None = None) -> dict[str, str]:
    """The environment every Airflow process of this project runs with.

    The executor, its parallelism, the secrets and Airflow's log-server ports
    (AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT, AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT) may be set in
    the environment; everything else is derived from the project's settings.
    """
    settings = settings or get_settings()
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    keys = local_secrets(settings)
    admin_password(settings)
    env = dict(os.environ)
    for name, value in {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__FERNET_KEY": keys["fernet_key"],
        "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": keys["api_secret_key"],
        "AIRFLOW__API__WORKERS": "1",
        # A task process's requests to the execution API time out after 5 s by default; the first after a start
        # took 7.1 s on a busy 2-core machine, and the task was killed before it ran.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
    }.items():
        env[name] = env.get(name) or value
    env.update({
        "AIRFLOW_HOME": str(settings.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(airflow_conninfo(settings), "psycopg2"),
        f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}": airflow_connection_json(warehouse_conninfo(settings)),
        # Authentication: SimpleAuthManager, one admin whose password lives in AIRFLOW_HOME (0600).
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file(settings)),
        # The api-server (UI, REST API v2, and the execution API the task workers talk to).
        "AIRFLOW__API__HOST": settings.airflow_host,
        "AIRFLOW__API__PORT": str(settings.airflow_port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url(settings)}/execution/",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(settings.airflow_home / "logs"),
        "SAAS_PROJECT_DIR": str(settings.project_dir),
        "DATA_DIR": str(settings.data_dir),
        "LANDING_DIR": str(settings.landing_dir),
        "LANDING_SETTLE_SECONDS": str(settings.landing_settle_seconds),
        "AIRFLOW_HOST": settings.airflow_host,
        "AIRFLOW_PORT": str(settings.airflow_port),
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


_REVISION = re.compile(r"""^revision\s*(?::[^=]*)?=\s*["']([0-9A-Za-z_]+)["']""", re.MULTILINE)
_DOWN_REVISION = re.compile(r"""^down_revision\s*(?::[^=]*)?=\s*(\([^)]*\)|.+)$""", re.MULTILINE)


def airflow_head_revision(versions: Path | None = None) -> str | None:
    """The head of Airflow's own migrations, read from its migration files; None when that is not one revision."""
    if versions is None:
        spec = importlib.util.find_spec("airflow")  # finds the package without importing it (seconds)
        if spec is None or not spec.submodule_search_locations:
            return None
        versions = Path(next(iter(spec.submodule_search_locations))) / "migrations" / "versions"
    revisions: set[str] = set()
    replaced: set[str] = set()
    for path in versions.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN_REVISION.search(text)
        if revision is None or down is None:
            continue  # __init__.py, helpers
        revisions.add(revision.group(1))
        replaced.update(re.findall(r"""["']([0-9A-Za-z_]+)["']""", down.group(1)))
    heads = revisions - replaced
    return heads.pop() if len(heads) == 1 else None


def metadata_revision(settings: Settings | None = None) -> str | None:
    """The Airflow migration the metadata database is at; None when it has none yet, or other managers' too."""
    import psycopg

    with psycopg.connect(airflow_conninfo(settings), connect_timeout=10) as conn:
        tables = {name for (name,) in conn.execute(
            "select table_name from information_schema.tables"
            " where table_schema = any(current_schemas(false)) and table_name like 'alembic\\_version%'")}
        if tables != {"alembic_version"}:  # not migrated yet, or a provider's own migrations (e.g. FAB's)
            return None
        row = conn.execute("select version_num from alembic_version").fetchone()
        return row[0] if row else None


def external_db_managers_configured(settings: Settings | None = None) -> bool:
    """Whether Airflow is configured with external DB managers (`[database] external_db_managers`)."""
    settings = settings or get_settings()
    if any(name.startswith("AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS") and value.strip()
           for name, value in os.environ.items()):
        return True
    config = configparser.ConfigParser(interpolation=None)
    config.read(os.environ.get("AIRFLOW_CONFIG") or settings.airflow_home / "airflow.cfg", encoding="utf-8")
    return bool(config.get("database", "external_db_managers", fallback="").strip())


def metadata_is_current(settings: Settings | None = None) -> bool:
    """Whether the metadata database is at the installed Airflow's head (so `airflow db migrate` has nothing to do).

    False whenever that cannot be told, the database unreachable included: `airflow db migrate` then runs
    and reports what is wrong in Airflow's own words.
    """
    import psycopg

    head = airflow_head_revision()
    if head is None or external_db_managers_configured(settings):
        return False  # no single head to compare with, or a provider's tables that only Airflow's migrate makes
    try:
        return metadata_revision(settings) == head
    except psycopg.Error:
        return False


class MetadataMigrationError(RuntimeError):
    """`airflow db migrate` failed; the message ends with its last line of output."""


def migrate_metadata(settings: Settings | None = None, announce: Callable[[], None] | None = None) -> bool:
    """Create or upgrade Airflow's metadata database (the `airflow` database, never the warehouse).

    Returns False, and runs nothing, when it was already at the installed Airflow's head; otherwise calls
    `announce` and runs `airflow db migrate` (7-10 s of Airflow's start-up on this machine).
    """
    if metadata_is_current(settings):
        return False
    if announce:
        announce()
    result = airflow("db", "migrate", settings=settings, check=False, capture=True)
    if result.returncode != 0:
        output = (result.stderr.strip() or result.stdout.strip() or "(no output)").splitlines()
        raise MetadataMigrationError(f"airflow db migrate failed: {output[-1]}")
    return True


def run_dag(logical_date: date | None = None, settings: Settings | None = None) -> int:
    """Run the DAG once through Airflow (`airflow dags test`); return Airflow's exit code."""
    migrate_metadata(settings)
    args = ["dags", "test", DAG_ID]
    if logical_date:
        args.append(logical_date.isoformat())
    return airflow(*args, settings=settings, check=False).returncode


# --- runs that cannot block the schedule ----------------------------------------------------------
#
# `saas-analytics run` executes the DAG with `airflow dags test` in a child process. Killed, that
# process would leave its DagRun `running` for ever, and with max_active_runs=1 every later run queues
# behind it. So each run carries a token in its conf and a record of its runner process under
# $AIRFLOW_HOME/run/; an interrupted runner marks its own DagRun failed, and the next `run` (or
# `airflow start`, or `airflow status --fail-stale`) fails any running DagRun whose runner is gone.

RUNNER_KEY = "saas_runner"
# A bare `airflow dags test` run (no runner record) counts as stale only after this long without activity.
UNOWNED_RUN_GRACE_SECONDS = 300
UNFINISHED_TI_STATES = ("running", "queued", "scheduled", "up_for_retry", "up_for_reschedule", "restarting",
                        "deferred", "awaiting_input")


class RunInterrupted(RuntimeError):
    """`saas-analytics run` was interrupted (SIGINT/SIGTERM); its DagRun was marked failed."""


@dataclass(frozen=True)
class ActiveRun:
    """A DagRun in state running or queued, and whether it is stale (nothing will ever finish it)."""

    run_id: str
    state: str
    run_type: str
    start_date: datetime | None
    stale: bool
    why: str


@dataclass(frozen=True)
class RunOutcome:
    """How one `saas-analytics run` ended: Airflow's exit code, its DagRun and the run's one-line reason."""

    code: int
    run_id: str | None
    reason: str | None


def _runner_file(settings: Settings, token: str) -> Path:
    return settings.airflow_home / "run" / f"dags-test-{token}.json"


def _runner_alive(settings: Settings, token: str) -> bool:
    """True when the `saas-analytics run` process that owns this token still runs."""
    import psutil

    try:
        record = json.loads(_runner_file(settings, token).read_text())
        proc = psutil.Process(int(record["pid"]))
        return abs(proc.create_time() - float(record["create_time"])) < 1.0 and proc.status() != psutil.STATUS_ZOMBIE
    except (FileNotFoundError, ValueError, KeyError, TypeError, psutil.Error):
        return False


def _live_task_process(conn, run_id: str) -> bool:
    """True when a task instance of the run is running in a live process on this machine."""
    import psutil

    host = socket.getfqdn()
    for pid, hostname in conn.execute(
            "select pid, hostname from task_instance where dag_id = %s and run_id = %s and state = 'running'",
            [DAG_ID, run_id]).fetchall():
        if pid and hostname in (host, socket.gethostname()) and psutil.pid_exists(pid):
            return True
    return False


def active_runs(settings: Settings | None = None) -> list[ActiveRun]:
    """The DAG's running and queued DagRuns, each judged stale or not.

    Stale: started by `saas-analytics run` whose process is gone, or by a bare `airflow dags test`
    (triggered_by test) with no live task process. Scheduler runs are the scheduler's to heal (its task
    heartbeat timeout fails their dead tasks); a queued run is never stale.
    """
    import psycopg

    settings = settings or get_settings()
    with psycopg.connect(airflow_conninfo(settings)) as conn:
        rows = conn.execute(
            "select run_id, state, run_type, start_date, conf::jsonb ->> %s, triggered_by::text from dag_run"
            " where dag_id = %s and state in ('running', 'queued') order by start_date nulls last",
            [RUNNER_KEY, DAG_ID]).fetchall()
        found = []
        for run_id, state, run_type, start_date, token, triggered_by in rows:
            stale, why = False, "running"
            if state == "queued":
                why = "queued behind the active run" if len(rows) > 1 else "queued (is the scheduler running?)"
            elif token:
                stale = not _runner_alive(settings, token)
                why = "its `saas-analytics run` process is gone" if stale else "its `saas-analytics run` is alive"
            elif (triggered_by or "").lower().endswith("test"):
                # no runner record to check: stale when no task process lives and nothing moved for a while
                idle = conn.execute(
                    "select extract(epoch from now() - greatest(max(ti.updated_at), max(dr.updated_at),"
                    " max(dr.start_date))) from dag_run as dr left join task_instance as ti"
                    " on ti.dag_id = dr.dag_id and ti.run_id = dr.run_id where dr.dag_id = %s and dr.run_id = %s",
                    [DAG_ID, run_id]).fetchone()[0]
                stale = not _live_task_process(conn, run_id) and float(idle or 0) > UNOWNED_RUN_GRACE_SECONDS
                why = ("started by `airflow dags test`, no live task process, idle "
                       f"{float(idle or 0):.0f}s") if stale else "started by `airflow dags test`, recently active"
            found.append(ActiveRun(run_id, state, run_type, start_date, stale, why))
    return found


def mark_run_failed(run_id: str, settings: Settings | None = None) -> bool:
    """Mark a DagRun failed as the UI's "Mark failed" does: running tasks failed, unfinished ones skipped."""
    import psycopg

    settings = settings or get_settings()
    with psycopg.connect(airflow_conninfo(settings)) as conn, conn.transaction():
        conn.execute(
            "update task_instance set state = case when state = 'running' then 'failed' else 'skipped' end,"
            " end_date = coalesce(end_date, now())"
            " where dag_id = %s and run_id = %s and (state is null or state = any(%s))",
            [DAG_ID, run_id, list(UNFINISHED_TI_STATES)])
        cur = conn.execute("update dag_run set state = 'failed', end_date = now()"
                           " where dag_id = %s and run_id = %s and state in ('running', 'queued')", [DAG_ID, run_id])
        return cur.rowcount > 0


def fail_stale_runs(settings: Settings | None = None) -> list[ActiveRun]:
    """Mark every stale DagRun of the DAG failed (so nothing queues behind it); return those."""
    settings = settings or get_settings()
    failed = []
    for run in active_runs(settings):
        if run.stale and mark_run_failed(run.run_id, settings):
            failed.append(run)
    return failed


def runs_with_token(token: str, settings: Settings) -> list[tuple[str, str]]:
    """(run_id, state) of the DagRuns a `saas-analytics run` started (found by the token in their conf)."""
    import psycopg

    with psycopg.connect(airflow_conninfo(settings)) as conn:
        return conn.execute("select run_id, state from dag_run where dag_id = %s and conf::jsonb ->> %s = %s",
                            [DAG_ID, RUNNER_KEY, token]).fetchall()


def run_reason(run_id: str, settings: Settings) -> str | None:
    """A run's one-line reason, as analytics.pipeline_run_summary defines it (None when there is none)."""
    import psycopg

    from saas_analytics import queries

    try:
        with psycopg.connect(warehouse_conninfo(settings)) as conn:
            row = queries.fetch_one(conn, "pipeline_run_status", {"run_id": run_id})
    except psycopg.Error:
        return None
    return row["reason"] if row else None


def _kill_all(procs: list) -> None:
    """SIGKILL each process that still runs."""
    import psutil

    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def run_dag_guarded(logical_date: date | None, settings: Settings,
                    execute: Callable[[list[str], dict[str, str]], int]) -> RunOutcome:
    """Run the DAG once via `execute(cmd, env)`; on SIGINT/SIGTERM stop it and mark its DagRun failed."""
    import psutil

    token = uuid.uuid4().hex
    record = _runner_file(settings, token)
    record.parent.mkdir(parents=True, exist_ok=True)
    me = psutil.Process()
    record.write_text(json.dumps({"pid": me.pid, "create_time": me.create_time()}) + "\n")
    cmd = [airflow_bin(), "dags", "test", DAG_ID, "--conf", json.dumps({RUNNER_KEY: token})]
    if logical_date:
        cmd.append(logical_date.isoformat())
    received: list[int] = []

    def stop(signum: int, _frame) -> None:
        received.append(signum)
        children = me.children(recursive=True)
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.terminate()
        timer = threading.Timer(15, _kill_all, [children])  # whatever ignored SIGTERM
        timer.daemon = True
        timer.start()
        raise RunInterrupted(f"run interrupted by {signal.Signals(signum).name}")

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        code = execute(cmd, airflow_env(settings))
    except RunInterrupted as exc:
        runs = [run_id for run_id, state in runs_with_token(token, settings)
                if state in ("running", "queued") and mark_run_failed(run_id, settings)]
        raise RunInterrupted(f"{exc}; Airflow run {', '.join(runs) or '(none started)'} marked failed") from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        record.unlink(missing_ok=True)
    runs = runs_with_token(token, settings)
    run_id = runs[0][0] if runs else None
    return RunOutcome(code, run_id, run_reason(run_id, settings) if run_id else None)
