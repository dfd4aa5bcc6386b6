"""The local Airflow deployment: api-server (UI + REST API), scheduler, dag-processor and triggerer.

`saas-analytics airflow start|stop|status|cli`. Each component runs as its own detached process group
with its output in `$AIRFLOW_HOME/logs/<component>.log` and its pid in `$AIRFLOW_HOME/run/<component>.pid`;
the executor is LocalExecutor and the metadata database is `airflow` on the warehouse's server.
Authentication is on (SimpleAuthManager): user `admin`, password generated into
`$AIRFLOW_HOME/simple_auth_manager_passwords.json` (0600) and printed on the first start.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import httpx
import psutil

from saas_analytics import airflow_runner
from saas_analytics.config import Settings, get_settings

# Start order, but the scheduler starts last, once the api-server answers; `stop` goes in reverse (the scheduler
# stops before the api-server its workers talk to).
COMPONENTS: tuple[str, ...] = ("api-server", "scheduler", "dag-processor", "triggerer")
HEALTH_PATH = "/api/v2/monitor/health"
START_TIMEOUT = 180.0
STOP_TIMEOUT = 30.0


class AirflowServiceError(RuntimeError):
    """The local Airflow could not be started or stopped; one line for the user."""


@dataclass(frozen=True)
class ComponentStatus:
    """One component's process, as `status` reports it."""

    name: str
    pid: int | None
    log: Path

    @property
    def running(self) -> bool:
        return self.pid is not None


@dataclass(frozen=True)
class StartResult:
    """What `start` did: the URL, the admin login, and which components it started."""

    url: str
    username: str
    password: str
    first_start: bool
    started: tuple[str, ...]
    already_running: tuple[str, ...]
    log_dir: Path
    password_file: Path


def run_dir(settings: Settings) -> Path:
    """Folder of the components' pid files."""
    return settings.airflow_home / "run"


def log_dir(settings: Settings) -> Path:
    """Folder of the components' own logs (task logs live below it too, in dag_id=…/run_id=…/)."""
    return settings.airflow_home / "logs"


def pid_file(settings: Settings, component: str) -> Path:
    return run_dir(settings) / f"{component}.pid"


def log_file(settings: Settings, component: str) -> Path:
    return log_dir(settings) / f"{component}.log"


_CHILDREN: list[subprocess.Popen] = []


CELERY_WORKER = "celery-worker-"


def component_command(component: str) -> list[str]:
    """The command line of one component (`celery-worker-<n>`: a Celery worker named w<n>)."""
    if component.startswith(CELERY_WORKER):
        # Several workers share this machine: only the first serves its task logs (one log-server port).
        number = component.removeprefix(CELERY_WORKER)
        return [airflow_runner.airflow_bin(), "celery", "worker", "--celery-hostname", f"w{number}@%h",
                *([] if number == "1" else ["--skip-serve-logs"])]
    return [airflow_runner.airflow_bin(), component]


def worker_names(settings: Settings) -> list[str]:
    """The Celery worker components that have a pid file (running or not)."""
    return sorted(p.stem for p in run_dir(settings).glob(f"{CELERY_WORKER}*.pid"))


def start_workers(settings: Settings | None = None, count: int = 2) -> list[str]:
    """Start `count` Celery workers (CeleryExecutor; the broker in AIRFLOW__CELERY__BROKER_URL); return new ones."""
    settings = settings or get_settings()
    env = airflow_runner.airflow_env(settings)
    if env["AIRFLOW__CORE__EXECUTOR"] != "CeleryExecutor" or not env.get("AIRFLOW__CELERY__BROKER_URL"):
        raise AirflowServiceError("Celery workers need AIRFLOW__CORE__EXECUTOR=CeleryExecutor and "
                                  "AIRFLOW__CELERY__BROKER_URL (e.g. redis://127.0.0.1:6379/0)")
    started = []
    with _exclusive(settings):
        for number in range(1, count + 1):
            name = f"{CELERY_WORKER}{number}"
            if _process(settings, name) is None:
                _spawn(settings, name, env)
                started.append(name)
    return started


# --- processes -------------------------------------------------------------------------------------


def _process(settings: Settings, component: str) -> psutil.Process | None:
    """The live process recorded in the component's pid file (checked against pid reuse), else None."""
    path = pid_file(settings, component)
    try:
        record = json.loads(path.read_text())
        proc = psutil.Process(int(record["pid"]))
        if abs(proc.create_time() - float(record["create_time"])) > 1.0:
            return None
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc
    except (FileNotFoundError, ValueError, KeyError, TypeError, psutil.Error):
        return None


def component_status(settings: Settings | None = None) -> list[ComponentStatus]:
    """Each component and its pid (None when it is not running)."""
    settings = settings or get_settings()
    statuses = []
    for name in COMPONENTS:
        proc = _process(settings, name)
        statuses.append(ComponentStatus(name, proc.pid if proc else None, log_file(settings, name)))
    return statuses


def _spawn(settings: Settings, component: str, env: dict[str, str]) -> psutil.Process:
    """Start one component in a new session (its own process group), output to its log, pid to its file."""
    log_dir(settings).mkdir(parents=True, exist_ok=True)
    run_dir(settings).mkdir(parents=True, exist_ok=True)
    with open(log_file(settings, component), "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} saas-analytics: starting {component}\n".encode())
        log.flush()
        popen = subprocess.Popen(
            component_command(component), env=env, cwd=settings.airflow_home, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
        )
    proc = psutil.Process(popen.pid)
    record = {"pid": popen.pid, "create_time": proc.create_time(), "command": component_command(component)}
    tmp = pid_file(settings, component).with_suffix(".tmp")
    tmp.write_text(json.dumps(record) + "\n")
    tmp.replace(pid_file(settings, component))
    # The component outlives this process; while we still run (e.g. `start`'s wait, or a test session),
    # keep its Popen so that it is reaped when it exits instead of lingering as a zombie.
    _CHILDREN.append(popen)
    return proc


def _reap_children() -> None:
    for popen in list(_CHILDREN):
        if popen.poll() is not None:
            _CHILDREN.remove(popen)


def _family(proc: psutil.Process) -> list[psutil.Process]:
    """The process and all its descendants (task processes run in process groups of their own)."""
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return [proc]


def _signal_all(procs: list[psutil.Process], sig: int) -> None:
    """Send `sig` once to every process: to whole process groups where one leads a group, else singly."""
    groups: set[int] = set()
    for proc in procs:
        with contextlib.suppress(psutil.Error, OSError):
            if proc.is_running() and os.getpgid(proc.pid) == proc.pid:
                os.killpg(proc.pid, sig)
                groups.add(proc.pid)
    for proc in procs:
        with contextlib.suppress(psutil.Error, OSError):
            if proc.is_running() and os.getpgid(proc.pid) not in groups:
                proc.send_signal(sig)


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    _reap_children()
    alive = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.Error:
            pass
    return alive


def _terminate(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """SIGTERM, wait up to `timeout`, then SIGKILL whatever is left; return what had to be killed.

    Processes forked meanwhile (a task started just before the scheduler got the signal) are picked up
    and signalled too.
    """
    procs = list(procs)
    _signal_all(procs, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = _alive(procs)
        newcomers = [c for p in alive for c in _family(p)[1:] if c not in procs]
        if newcomers:
            procs += newcomers
            _signal_all(newcomers, signal.SIGTERM)
        elif not alive:
            break
        time.sleep(0.2)
    left = _alive(procs)
    if left:
        left += [c for p in left for c in _family(p)[1:] if c not in left]
        _signal_all(left, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(left) and time.monotonic() < deadline:
            time.sleep(0.1)
    return left


@contextlib.contextmanager
def _exclusive(settings: Settings) -> Iterator[None]:
    """One `start` or `stop` at a time per AIRFLOW_HOME (a second one waits, then finds the work done)."""
    run_dir(settings).mkdir(parents=True, exist_ok=True)
    with open(run_dir(settings) / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def stop(settings: Settings | None = None, timeout: float = STOP_TIMEOUT) -> list[str]:
    """Stop every component and all its descendants; return the names of those that were running."""
    settings = settings or get_settings()
    with _exclusive(settings):
        return _stop(settings, timeout)


def _stop(settings: Settings, timeout: float = STOP_TIMEOUT) -> list[str]:
    stopped = []
    for name in [*worker_names(settings), *reversed(COMPONENTS)]:
        proc = _process(settings, name)
        if proc is not None:
            _terminate(_family(proc), timeout)
            stopped.append(name)
        pid_file(settings, name).unlink(missing_ok=True)
    return stopped


# --- the API ---------------------------------------------------------------------------------------


def health(url: str, timeout: float = 5.0) -> dict | None:
    """The api-server's health document (`GET /api/v2/monitor/health`), or None when it does not answer."""
    try:
        response = httpx.get(url + HEALTH_PATH, timeout=timeout)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError):
        return None


def _port_in_use(host: str, port: int) -> bool:
    host = "127.0.0.1" if host in {"0.0.0.0", ""} else ("::1" if host == "::" else host)
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _fail_if_exited(settings: Settings, components: tuple[str, ...]) -> None:
    """Raise, with the last lines of its log, if one of these components is not running."""
    for name in components:
        if _process(settings, name) is None:
            raise AirflowServiceError(
                f"airflow {name} exited during start; last lines of {log_file(settings, name)}:\n"
                + _tail(log_file(settings, name)))


def wait_until_serving(settings: Settings, url: str, timeout: float = START_TIMEOUT) -> None:
    """Wait until the api-server answers, then ask its execution API once (its first answer is the slow one)."""
    deadline = time.monotonic() + timeout
    while health(url) is None:
        _fail_if_exited(settings, ("api-server",))
        if time.monotonic() > deadline:
            raise AirflowServiceError(f"the Airflow API at {url} did not answer within {timeout:.0f}s; "
                                      f"see {log_file(settings, 'api-server')}")
        time.sleep(1)
    with contextlib.suppress(httpx.HTTPError):  # a warm-up only: the task processes retry on their own
        httpx.get(f"{url}/execution/health", timeout=max(deadline - time.monotonic(), 1.0))


def wait_until_ready(settings: Settings, url: str, timeout: float = START_TIMEOUT,
                     components: tuple[str, ...] = COMPONENTS) -> dict:
    """Wait until the API answers and reports a healthy database and scheduler; fail fast if a component dies."""
    deadline = time.monotonic() + timeout
    last: dict | None = None
    while time.monotonic() < deadline:
        _fail_if_exited(settings, components)
        last = health(url)
        if last and all((last.get(part) or {}).get("status") == "healthy"
                        for part in ("metadatabase", "scheduler")):
            return last
        time.sleep(1)
    raise AirflowServiceError(f"the Airflow API at {url} was not healthy after {timeout:.0f}s (last answer: {last}); "
                              f"see the logs in {log_dir(settings)}")


def start(settings: Settings | None = None, timeout: float = START_TIMEOUT,
          progress: Callable[[str], None] | None = None) -> StartResult:
    """Migrate the metadata database, start the components not yet running, wait until the API is healthy.

    Running it again while everything runs changes nothing. The warehouse server must already be up
    (the CLI starts it first).
    """
    settings = settings or get_settings()
    say = progress or (lambda _line: None)
    env = airflow_runner.airflow_env(settings)
    url = airflow_runner.api_url(settings)
    password, _ = airflow_runner.admin_password(settings)
    with _exclusive(settings):
        running = tuple(s.name for s in component_status(settings) if s.running)
        missing = tuple(name for name in COMPONENTS if name not in running)
        if missing:
            if "api-server" in missing and _port_in_use(settings.airflow_host, settings.airflow_port):
                raise AirflowServiceError(f"port {settings.airflow_port} is already in use by another program; "
                                          "set AIRFLOW_PORT to a free port")
            try:
                airflow_runner.migrate_metadata(settings, announce=lambda: say("migrating the metadata database …"))
            except airflow_runner.MetadataMigrationError as exc:
                raise AirflowServiceError(str(exc)) from exc
            try:  # a run killed with its runner would otherwise block the schedule (max_active_runs=1)
                for run in airflow_runner.fail_stale_runs(settings):
                    say(f"marked stale run {run.run_id} failed ({run.why})")
            except Exception as exc:  # noqa: BLE001 - never a reason not to start; `status` shows stuck runs
                say(f"could not check for stale runs ({type(exc).__name__}); see `saas-analytics airflow status`")
        try:
            # The scheduler last, once the api-server answers (as compose orders them): its task processes report
            # to the api-server, each request with a few seconds' timeout, and on a busy 2-core machine the first
            # task of a fresh start failed before it ran.
            for name in sorted(missing, key=lambda name: name == "scheduler"):
                if name == "scheduler":
                    wait_until_serving(settings, url, timeout)
                say(f"starting {name} (log: {log_file(settings, name)})")
                _spawn(settings, name, env)
            wait_until_ready(settings, url, timeout)
        except BaseException:
            if missing:  # leave nothing half-started behind
                _stop(settings)
            raise
    # Print the password on the first start, and again after it changed (its file deleted to rotate it).
    shown = settings.airflow_home / ".admin_password_shown"
    fingerprint = hashlib.sha256(password.encode()).hexdigest()
    first_start = not shown.exists() or shown.read_text().strip() != fingerprint
    shown.write_text(fingerprint + "\n")
    return StartResult(url=url, username=airflow_runner.ADMIN_USER, password=password, first_start=first_start,
                       started=missing, already_running=running, log_dir=log_dir(settings),
                       password_file=airflow_runner.passwords_file(settings))


# --- the CLI group ---------------------------------------------------------------------------------


@click.group("airflow")
def airflow_group() -> None:
    """Run Airflow locally as a deployment does: api-server (UI), scheduler, dag-processor, triggerer."""


@airflow_group.command("start")
@click.option("--timeout", default=START_TIMEOUT, show_default=True, help="Seconds to wait for a healthy API.")
@click.option("--celery-workers", default=0, show_default=True,
              help="Also start N Celery workers (needs AIRFLOW__CORE__EXECUTOR=CeleryExecutor and a broker).")
def start_command(timeout: float, celery_workers: int) -> None:
    """Start the warehouse and Airflow (if not running) and print the UI's URL and login."""
    from saas_analytics import warehouse as wh

    settings = get_settings()
    wh.start(settings)
    result = start(settings, timeout=timeout, progress=lambda line: click.echo(f"airflow: {line}"))
    if celery_workers:
        started = start_workers(settings, celery_workers)
        click.echo(f"airflow: Celery workers {', '.join(started) or 'already running'}")
    if result.started:
        click.echo(f"airflow: started {', '.join(result.started)} — logs in {result.log_dir}")
    else:
        click.echo("airflow: already running")
    click.echo(f"airflow: UI and REST API at {result.url}")
    # The password itself is never printed unasked (logs and CI output keep what a terminal shows).
    if result.first_start:
        click.echo(f"airflow: login {result.username}; its password was generated for this installation into "
                   f"{result.password_file} (`saas-analytics airflow password` prints it)")
    else:
        click.echo(f"airflow: login {result.username}; the password is in {result.password_file}")


@airflow_group.command("password")
def password_command() -> None:
    """Print the UI/API admin's password (kept in AIRFLOW_HOME, mode 0600)."""
    password, _ = airflow_runner.admin_password(get_settings())
    click.echo(password)


@airflow_group.command("stop")
def stop_command() -> None:
    """Stop every Airflow component (and any task still running); leaves the warehouse running."""
    stopped = stop(get_settings())
    click.echo(f"airflow: stopped {', '.join(stopped)}" if stopped else "airflow: was not running")


@airflow_group.command("status")
def status_command() -> None:
    """Show each component and the API's health (exit 1 unless all run)."""
    settings = get_settings()
    url = airflow_runner.api_url(settings)
    statuses = component_status(settings)
    click.echo(f"airflow ({settings.airflow_home}, {url}):")
    for st in statuses:
        click.echo(f"  {st.name:<14} " + (f"running, pid {st.pid}" if st.running else "not running"))
    for name in worker_names(settings):
        proc = _process(settings, name)
        click.echo(f"  {name:<14} " + (f"running, pid {proc.pid}" if proc else "not running"))
    doc = health(url) if any(s.running for s in statuses) else None
    if doc:
        parts = ", ".join(f"{k} {v.get('status')}" for k, v in doc.items() if isinstance(v, dict))
        click.echo(f"  health: {parts}")
    else:
        click.echo("  health: the API does not answer")
    stuck = _echo_active_runs(settings)
    if not all(s.running for s in statuses) or stuck:
        sys.exit(1)


def _echo_active_runs(settings: Settings) -> int:
    """Print the DAG's running/queued runs, flag stale ones with how to clear them; return how many are stale."""
    try:
        runs = airflow_runner.active_runs(settings)
    except Exception as exc:  # noqa: BLE001 - a status command reports, it does not fail on this
        click.echo(f"  runs: cannot read the metadata database ({type(exc).__name__})")
        return 0
    if not runs:
        click.echo("  runs: none running or queued")
    for run in runs:
        flag = "STUCK" if run.stale else run.state
        click.echo(f"  run {run.run_id}: {flag} since {run.start_date or '-'} — {run.why}")
    stale = [r for r in runs if r.stale]
    if stale:
        click.echo("  to clear: saas-analytics airflow fail-stale   (marks them failed; or in the UI: the run → "
                   "Mark run as failed; or PATCH /api/v2/dags/saas_analytics_daily/dagRuns/<run_id> "
                   '{"state": "failed"})')
    return len(stale)


@airflow_group.command("fail-stale")
def fail_stale_command() -> None:
    """Mark failed every running DagRun whose runner is gone (a killed `saas-analytics run`)."""
    failed = airflow_runner.fail_stale_runs(get_settings())
    for run in failed:
        click.echo(f"airflow: marked {run.run_id} failed ({run.why})")
    if not failed:
        click.echo("airflow: no stale run")


@airflow_group.command("cli", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def cli_command(args: tuple[str, ...]) -> None:
    """Run the `airflow` CLI with this project's environment, e.g. `cli dags list-runs saas_analytics_daily`."""
    code = airflow_runner.airflow(*args, settings=get_settings(), check=False).returncode
    if code:
        sys.exit(code)
