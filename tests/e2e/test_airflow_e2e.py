"""End to end: the local Airflow deployment (`saas-analytics airflow start`) runs saas_analytics_daily.

One Airflow (api-server, scheduler, dag-processor, triggerer, LocalExecutor) is started for this module
against a fresh warehouse database and a fresh `airflow` metadata database on the test server, then:

1. the scheduler runs the DAG by itself: with catchup off and a past start date, registering the DAG makes
   the timetable schedule the latest 02:00 UTC tick at once (a `scheduled` run, triggered by the timetable);
2. a run triggered through REST API v2 exactly as the UI does (no logical date) loads the newly landed day;
3. headless Chromium logs into the UI and finds that run successful (screenshot: test-artifacts/);
4. a run that fails half-way (the warehouse refuses writes to core) is cleared from the failed task through
   the REST API and ends in the same state as a clean run;
5. `stop` leaves no process behind (and the module's teardown stops everything in any case).

The tests run in this order and build on each other's landed files.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pandas as pd
import psutil
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from saas_analytics import airflow_runner, airflow_services
from saas_analytics.config import DAG_ID, Settings

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FIRST_DAY = date(2026, 6, 1)
DAYS = 12  # days 1..10 before start, day 11 for the UI trigger, day 12 for the failing run
USERS = 120
RUN_TIMEOUT = 150.0
# What the UI's "Trigger" dialog posts with every optional field left empty.
UI_TRIGGER_BODY = {"conf": {}, "dag_run_id": None, "data_interval_start": None, "data_interval_end": None,
                   "logical_date": None, "note": None, "partition_key": None}
# Run in the test's Airflow only (AIRFLOW_HOME/config is on Airflow's sys.path): no retries, so that a
# failing task fails the run at once instead of retrying with backoff for minutes. The DAG's own retry
# settings are checked in tests/saas_analytics/test_airflow_runner.py.
NO_RETRIES_POLICY = '''
def task_policy(task):
    task.retries = 0
'''
CORE_TABLES = ("dim_users", "dim_features", "dim_documents", "dim_plans", "fact_events",
               "fact_subscription_events", "fact_daily_user_activity")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def day_of(path: Path) -> date:
    return date.fromisoformat(re.search(r"(\d{4}-\d{2}-\d{2})", path.name).group(1))


class Api:
    """REST API v2 client with a token from POST /auth/token, as any API user would get one."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=30)
        response = self.client.post("/auth/token", json={"username": username, "password": password})
        assert response.status_code == 201, response.text
        self.client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def get(self, path: str, **params) -> dict:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        return response.json()

    def post(self, path: str, body: dict) -> dict:
        response = self.client.post(path, json=body)
        assert response.status_code in (200, 201), f"POST {path}: {response.status_code} {response.text}"
        return response.json()

    def runs(self) -> list[dict]:
        return self.get(f"/api/v2/dags/{DAG_ID}/dagRuns", order_by="run_after", limit=100)["dag_runs"]

    def run(self, run_id: str) -> dict:
        return self.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}")

    def task_states(self, run_id: str) -> dict[str, tuple[str, int]]:
        tis = self.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances")["task_instances"]
        return {ti["task_id"]: (ti["state"], ti["try_number"]) for ti in tis}

    def wait_for_run(self, run_id: str, timeout: float = RUN_TIMEOUT) -> dict:
        """Wait until the run is finished (success or failed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(1)
        raise AssertionError(f"run {run_id} not finished after {timeout:.0f}s: {self.task_states(run_id)}")

    def wait_for_dag(self, timeout: float = RUN_TIMEOUT) -> None:
        """Wait until the dag-processor has registered the DAG (a fresh start returns before it has)."""
        deadline = time.monotonic() + timeout
        while self.client.get(f"/api/v2/dags/{DAG_ID}").status_code == 404:
            assert time.monotonic() < deadline, f"DAG {DAG_ID} not registered after {timeout:.0f}s"
            time.sleep(1)

    def wait_idle(self, timeout: float = RUN_TIMEOUT) -> None:
        """Wait until no run of the DAG is queued or running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(r["state"] in ("success", "failed") for r in self.runs()):
                return
            time.sleep(1)
        raise AssertionError(f"runs still active after {timeout:.0f}s: {self.runs()}")


@dataclass
class Stack:
    settings: Settings
    start: airflow_services.StartResult
    second_start: airflow_services.StartResult
    pids_after_start: dict
    api: Api
    warehouse: str
    admin: str
    template: str
    simulated: list[Path]
    state: dict = field(default_factory=dict)

    @property
    def landing(self) -> Path:
        return self.settings.landing_dir

    def land(self, path: Path) -> None:
        shutil.copy(path, self.landing / path.name)


def airflow_processes(airflow_home: Path) -> list[psutil.Process]:
    """Every live process that runs with this AIRFLOW_HOME (components, workers, task processes)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid == os.getpid() or proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get("AIRFLOW_HOME") == str(airflow_home):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def create_database(admin: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        stmt = sql.SQL("create database {}").format(sql.Identifier(name))
        if template:
            stmt = stmt + sql.SQL(" template {}").format(sql.Identifier(template))
        conn.execute(stmt)
    return make_conninfo(admin, dbname=name)


def drop_database(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def scalar(conninfo: str, query: str, params: list | None = None):
    with psycopg.connect(conninfo) as conn:
        return conn.execute(query, params or []).fetchone()[0]


def core_counts(conninfo: str) -> dict[str, int]:
    return {t: scalar(conninfo, f"select count(*) from core.{t}") for t in CORE_TABLES}


@pytest.fixture(scope="module")
def stack(pg_server: dict, migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The local Airflow on fresh databases, with days 1..DAYS-2 landed before it starts; stopped at the end."""
    from saas_analytics.simulator import SimulationConfig, simulate

    base = tmp_path_factory.mktemp("airflow-e2e")
    simulate(SimulationConfig(start=FIRST_DAY, days=DAYS, users=USERS, seed=7, fmt="snake"), base / "simulated")
    simulated = sorted((base / "simulated").glob("events_*.jsonl.gz"))
    assert len(simulated) == DAYS
    data = base / "data"
    (data / "landing").mkdir(parents=True)
    for path in simulated[:-2]:
        shutil.copy(path, data / "landing" / path.name)

    admin = pg_server["admin"]
    wh_name, af_name = f"saas_afwh_{os.getpid()}", f"saas_afmeta_{os.getpid()}"
    warehouse = create_database(admin, wh_name, migrated_template)
    metadata = create_database(admin, af_name)
    settings = replace(pg_server["settings"], database_url=warehouse, airflow_database_url=metadata,
                       data_dir=data, landing_dir=data / "landing", airflow_home=data / "airflow",
                       airflow_host="127.0.0.1", airflow_port=free_port())
    (settings.airflow_home / "config").mkdir(parents=True)
    (settings.airflow_home / "config" / "airflow_local_settings.py").write_text(NO_RETRIES_POLICY)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT", str(free_port()))
        mp.setenv("AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT", str(free_port()))
        try:
            first = airflow_services.start(settings)
            pids = {s.name: s.pid for s in airflow_services.component_status(settings)}
            second = airflow_services.start(settings)
            api = Api(first.url, first.username, first.password)
            api.wait_for_dag()
            yield Stack(settings, first, second, pids, api, warehouse, admin, migrated_template, simulated)
        finally:
            airflow_services.stop(settings)
            leftovers = airflow_processes(settings.airflow_home)
            for proc in leftovers:
                proc.kill()
            drop_database(admin, wh_name)
            drop_database(admin, af_name)
            assert not leftovers, f"processes left running after stop: {leftovers}"


def test_start_is_idempotent_and_authentication_is_on(stack: Stack) -> None:
    assert stack.start.first_start and set(stack.start.started) == set(airflow_services.COMPONENTS)
    assert stack.second_start.started == () and not stack.second_start.first_start
    assert {s.name: s.pid for s in airflow_services.component_status(stack.settings)} == stack.pids_after_start
    assert all(stack.pids_after_start.values())

    home = stack.settings.airflow_home
    for secret in (home / "secrets.json", home / "simple_auth_manager_passwords.json"):
        assert secret.stat().st_mode & 0o777 == 0o600, secret
    assert json.loads((home / "simple_auth_manager_passwords.json").read_text()) == {"admin": stack.start.password}

    anonymous = httpx.get(f"{stack.start.url}/api/v2/dags", timeout=10)
    assert anonymous.status_code == 401
    wrong = httpx.post(f"{stack.start.url}/auth/token", json={"username": "admin", "password": "wrong"}, timeout=10)
    assert wrong.status_code == 401
    health = airflow_services.health(stack.start.url)
    assert {k: v["status"] for k, v in health.items()} == {
        "metadatabase": "healthy", "scheduler": "healthy", "triggerer": "healthy", "dag_processor": "healthy"}


def test_scheduler_runs_the_dag_by_its_schedule(stack: Stack) -> None:
    """No trigger: the timetable's latest 02:00 UTC tick becomes a scheduled run, which loads days 1..DAYS-2."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while not (scheduled := [r for r in stack.api.runs() if r["run_type"] == "scheduled"]):
        assert time.monotonic() < deadline, "the scheduler created no run"
        time.sleep(1)
    run = stack.api.wait_for_run(scheduled[0]["dag_run_id"])
    assert run["state"] == "success", stack.api.task_states(run["dag_run_id"])
    assert run["triggered_by"] == "timetable"

    now = datetime.now(UTC)
    tick = parse_ts(run["logical_date"])
    assert (tick.hour, tick.minute, tick.second) == (2, 0, 0) and now - timedelta(days=1) < tick <= now
    assert parse_ts(run["data_interval_start"]) == parse_ts(run["data_interval_end"]) == tick
    dag = stack.api.get(f"/api/v2/dags/{DAG_ID}")
    details = stack.api.get(f"/api/v2/dags/{DAG_ID}/details")
    assert dag["is_paused"] is False
    assert dag["timetable_summary"] == "0 2 * * *" and details["timezone"] == "UTC"
    assert details["catchup"] is False and dag["max_active_runs"] == 1
    next_tick = parse_ts(dag["next_dagrun_run_after"])
    assert next_tick > now and (next_tick.hour, next_tick.minute) == (2, 0) and next_tick - tick <= timedelta(days=2)

    from pipeline_helpers import assert_matches_reference

    expected_last = day_of(stack.simulated[-3])
    assert scalar(stack.warehouse, "select max(activity_date) from analytics.daily_active_users") == expected_last
    assert scalar(stack.warehouse, "select files_loaded from analytics.pipeline_runs where run_id = %s",
                  [run["dag_run_id"]]) == DAYS - 2
    assert_matches_reference(stack.warehouse, stack.landing)


def test_ui_style_trigger_loads_the_newly_landed_day(stack: Stack) -> None:
    """POST dagRuns with no logical date (the UI's trigger) → the new day reaches the analytics."""
    stack.api.wait_idle()
    new_file = stack.simulated[-2]
    stack.land(new_file)
    created = stack.api.post(f"/api/v2/dags/{DAG_ID}/dagRuns", UI_TRIGGER_BODY)
    assert created["logical_date"] is None and created["run_type"] == "manual"
    run = stack.api.wait_for_run(created["dag_run_id"])
    states = stack.api.task_states(run["dag_run_id"])
    assert run["state"] == "success", states
    assert all(state == "success" for state, _ in states.values()), states
    stack.state["ui_run_id"] = run["dag_run_id"]

    from pipeline_helpers import assert_matches_reference

    new_day = day_of(new_file)
    assert scalar(stack.warehouse, "select max(activity_date) from analytics.daily_active_users") == new_day
    assert scalar(stack.warehouse, "select dau from analytics.daily_active_users where activity_date = %s",
                  [new_day]) > 0
    with psycopg.connect(stack.warehouse) as conn:
        logical, status, files = conn.execute(
            "select logical_date, status, files_loaded from analytics.pipeline_runs where run_id = %s",
            [run["dag_run_id"]]).fetchone()
    assert (logical, status, files) == (None, "success", 1)
    assert_matches_reference(stack.warehouse, stack.landing)


class Chromium:
    """Headless Debian Chromium driven through the DevTools protocol (a websocket)."""

    def __init__(self, tmp: Path) -> None:
        from websockets.sync.client import connect

        self.profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=tmp))
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={self.profile}", "--remote-debugging-port=0", "--window-size=1440,1000",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert self.proc.poll() is None, "chromium exited at start"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        pages = [t for t in httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json() if t["type"] == "page"]
        self.ws = connect(pages[0]["webSocketDebuggerUrl"], max_size=64 * 2**20, open_timeout=10)
        self.ids = itertools.count(1)
        self.call("Page.enable")

    def call(self, method: str, **params) -> dict:
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == msg_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def eval(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.eval(expression):
            assert time.monotonic() < deadline, f"timed out waiting for: {expression}"
            time.sleep(0.25)

    def type_into(self, selector: str, text: str) -> None:
        self.eval(f"document.querySelector({json.dumps(selector)}).focus()")
        self.call("Input.insertText", text=text)

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
            shutil.rmtree(self.profile, ignore_errors=True)


def test_ui_login_shows_the_run_successful(stack: Stack, tmp_path: Path) -> None:
    """Chromium signs in on the UI's login form and finds the triggered run marked Success."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"chromium is required in CI ({CHROMIUM} missing; .ci/run installs it)")
        pytest.skip(f"chromium not installed ({CHROMIUM}); apt-get install chromium")
    run_id = stack.state.get("ui_run_id")
    assert run_id, "the UI-style trigger test did not produce a successful run"
    browser = Chromium(tmp_path)
    try:
        run_page = f"{stack.start.url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}"
        browser.call("Page.navigate", url=run_page)
        browser.wait_for("location.pathname.startsWith('/auth/login')"
                         " && !!document.querySelector('input[name=password]')")
        browser.type_into("input[name=username]", stack.start.username)
        browser.type_into("input[name=password]", stack.start.password)
        browser.wait_for("!document.querySelector('button[type=submit]').disabled")
        browser.eval("document.querySelector('button[type=submit]').click()")
        browser.wait_for("!location.pathname.startsWith('/auth/')")
        if not browser.eval("location.pathname.startsWith('/dags/')"):
            browser.call("Page.navigate", url=run_page)
        success = re.escape(run_id) + r"\s*\n\s*Success"
        browser.wait_for(f"new RegExp({json.dumps(success)}).test(document.body.innerText)"
                         " && document.body.innerText.includes('record_run')", timeout=45)
        time.sleep(1)  # let the grid finish painting for the screenshot
        browser.screenshot(ARTIFACTS / "airflow-run.png")
        assert "Sign into Airflow" not in browser.eval("document.body.innerText")
    finally:
        browser.close()
    assert (ARTIFACTS / "airflow-run.png").stat().st_size > 10_000


def test_failed_run_cleared_from_the_failed_task_ends_like_a_clean_run(stack: Stack) -> None:
    """core dies half-way (the warehouse refuses it) → fix → clear `core` via REST → same end state as a clean run."""
    stack.api.wait_idle()
    stack.land(stack.simulated[-1])
    with psycopg.connect(stack.warehouse, autocommit=True) as conn:
        conn.execute("create function core.refuse_writes() returns trigger language plpgsql as"
                     " $$ begin raise exception 'warehouse refuses writes to %', tg_table_name; end $$")
        conn.execute("create trigger refuse_writes before insert on core.fact_events"
                     " for each statement execute function core.refuse_writes()")
    before = core_counts(stack.warehouse)
    created = stack.api.post(f"/api/v2/dags/{DAG_ID}/dagRuns", UI_TRIGGER_BODY)
    run_id = created["dag_run_id"]
    failed = stack.api.wait_for_run(run_id)
    states = stack.api.task_states(run_id)
    assert failed["state"] == "failed", states
    assert states["load"] == ("success", 1) and states["staging"] == ("success", 1), states
    assert states["core"][0] == "failed", states
    assert states["refresh_analytics"][0] == "upstream_failed", states
    assert states["record_run"][0] in ("upstream_failed", "failed"), states  # it may record the failure
    recorded = scalar(stack.warehouse, "select count(*) from analytics.pipeline_runs"
                      " where run_id = %s and status = 'success'", [run_id])
    assert recorded == 0
    assert core_counts(stack.warehouse) == before, "the failed core task left partial rows"

    with psycopg.connect(stack.warehouse, autocommit=True) as conn:  # the fix
        conn.execute("drop trigger refuse_writes on core.fact_events")
        conn.execute("drop function core.refuse_writes()")
    # What the UI's "Clear task instance" dialog posts (with "Downstream" ticked).
    cleared = stack.api.post(f"/api/v2/dags/{DAG_ID}/clearTaskInstances", {
        "dag_run_id": run_id, "dry_run": False, "task_ids": ["core"], "include_downstream": True,
        "include_upstream": False, "include_future": False, "include_past": False, "only_failed": False})
    assert "core" in {ti["task_id"] for ti in cleared["task_instances"]}
    assert "load" not in {ti["task_id"] for ti in cleared["task_instances"]}
    rerun = stack.api.wait_for_run(run_id)
    states = stack.api.task_states(run_id)
    assert rerun["state"] == "success", states
    assert states["load"] == ("success", 1) and states["staging"] == ("success", 1), "upstream tasks re-ran"
    assert states["core"] == ("success", 2), states
    assert all(state == "success" for state, _ in states.values()), states

    # A clean run: a fresh warehouse, every landed file, the pipeline once, no failure.
    from pipeline_helpers import ANALYTICS_KEYS, assert_matches_reference, read_table, run_pipeline

    clean_name = f"saas_afclean_{os.getpid()}"
    clean = create_database(stack.admin, clean_name, stack.template)
    try:
        run_pipeline(clean, stack.landing, run_id="clean")
        assert core_counts(stack.warehouse) == core_counts(clean)
        for name in ANALYTICS_KEYS:
            pd.testing.assert_frame_equal(read_table(stack.warehouse, name), read_table(clean, name), obj=name)
        for table in ("raw.events", "staging.events", "staging.quarantine"):
            count = f"select count(*) from {table}"
            assert scalar(stack.warehouse, count) == scalar(clean, count), table
    finally:
        drop_database(stack.admin, clean_name)
    assert_matches_reference(stack.warehouse, stack.landing)
    status = scalar(stack.warehouse, "select status from analytics.pipeline_runs where run_id = %s", [run_id])
    assert status == "success"


def test_stop_leaves_no_process_behind(stack: Stack) -> None:
    stopped = airflow_services.stop(stack.settings)
    assert set(stopped) == set(airflow_services.COMPONENTS)
    assert not any(s.running for s in airflow_services.component_status(stack.settings))
    assert airflow_processes(stack.settings.airflow_home) == []
    assert airflow_services.health(stack.start.url, timeout=2) is None
    assert not list((stack.settings.airflow_home / "run").glob("*.pid"))
    assert airflow_runner.api_url(stack.settings) == stack.start.url
