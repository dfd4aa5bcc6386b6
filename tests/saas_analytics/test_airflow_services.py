"""Process management of the local Airflow, with a stand-in `airflow` executable (fast, no database).

The stand-in behaves like the real components where it matters: it runs until signalled, starts a
"task process" in a process group of its own (as Airflow's task supervisor does), and can be told to
die at start or to ignore SIGTERM. The real components are exercised by tests/e2e/test_airflow_e2e.py.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from saas_analytics import airflow_runner, airflow_services
from saas_analytics.config import Settings, get_settings

FAKE_AIRFLOW = f"""#!{sys.executable}
import os, signal, subprocess, sys, time
args = sys.argv[1:]
if args[:2] == ["db", "migrate"]:
    sys.exit(0)
mode = os.environ.get("FAKE_AIRFLOW_MODE", "run")
if mode == "die":
    print("boom: cannot start", args, flush=True)
    sys.exit(3)
if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("fake", args, "running", flush=True)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
while True:
    time.sleep(0.5)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tagged_processes(tag: str) -> list[psutil.Process]:
    """Live processes carrying this test's environment tag (components and their task processes)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and proc.environ().get("FAKE_AIRFLOW_TAG") == tag:
                found.append(proc)
        except psutil.Error:
            continue
    return found


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    fake = tmp_path / "bin" / "airflow"
    fake.parent.mkdir()
    fake.write_text(FAKE_AIRFLOW)
    fake.chmod(0o755)
    monkeypatch.setattr(airflow_runner, "airflow_bin", lambda: str(fake))
    tag = uuid.uuid4().hex
    monkeypatch.setenv("FAKE_AIRFLOW_TAG", tag)
    monkeypatch.setenv("AIRFLOW_PORT", str(free_port()))
    monkeypatch.delenv("AIRFLOW_HOST", raising=False)
    get_settings.cache_clear()
    settings = replace(get_settings(), data_dir=tmp_path / "data", landing_dir=tmp_path / "data" / "landing",
                       airflow_home=tmp_path / "data" / "airflow",
                       database_url="host=db.invalid dbname=warehouse", airflow_database_url="host=db.invalid")
    yield settings
    airflow_services.stop(settings, timeout=2)
    for proc in tagged_processes(tag):
        proc.kill()


@pytest.fixture
def healthy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API answers healthy (the stand-in serves no HTTP)."""
    doc = {part: {"status": "healthy"} for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")}
    monkeypatch.setattr(airflow_services, "health", lambda url, timeout=5.0: doc)


def test_start_runs_each_component_detached_with_log_and_pid(settings: Settings, healthy) -> None:
    result = airflow_services.start(settings, timeout=20)
    assert result.started == airflow_services.COMPONENTS and result.already_running == ()
    assert result.first_start and result.username == "admin"
    assert result.password == json.loads(airflow_runner.passwords_file(settings).read_text())["admin"]
    assert result.url == f"http://127.0.0.1:{os.environ['AIRFLOW_PORT']}"
    for st in airflow_services.component_status(settings):
        assert st.running, st
        assert os.getpgid(st.pid) == st.pid  # leads its own process group (detached session)
        assert os.getsid(st.pid) == st.pid
        assert st.log == settings.airflow_home / "logs" / f"{st.name}.log"
        record = json.loads((settings.airflow_home / "run" / f"{st.name}.pid").read_text())
        assert record["pid"] == st.pid
    deadline = time.monotonic() + 10
    while "running" not in (settings.airflow_home / "logs" / "scheduler.log").read_text():
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_start_twice_is_harmless(settings: Settings, healthy, monkeypatch: pytest.MonkeyPatch) -> None:
    first = airflow_services.start(settings, timeout=20)
    pids = {s.name: s.pid for s in airflow_services.component_status(settings)}
    monkeypatch.setattr(airflow_services, "_spawn", lambda *a: pytest.fail("started a component twice"))
    second = airflow_services.start(settings, timeout=20)
    assert second.started == () and second.already_running == airflow_services.COMPONENTS
    assert second.password == first.password and not second.first_start
    assert {s.name: s.pid for s in airflow_services.component_status(settings)} == pids


def test_start_replaces_only_a_dead_component(settings: Settings, healthy) -> None:
    airflow_services.start(settings, timeout=20)
    before = {s.name: s.pid for s in airflow_services.component_status(settings)}
    psutil.Process(before["triggerer"]).kill()
    deadline = time.monotonic() + 10
    while airflow_services._process(settings, "triggerer") is not None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    result = airflow_services.start(settings, timeout=20)
    assert result.started == ("triggerer",)
    after = {s.name: s.pid for s in airflow_services.component_status(settings)}
    assert after["triggerer"] != before["triggerer"]
    assert {k: v for k, v in after.items() if k != "triggerer"} == {k: v for k, v in before.items() if k != "triggerer"}


def test_stop_leaves_no_process_behind(settings: Settings, healthy) -> None:
    airflow_services.start(settings, timeout=20)
    tag = os.environ["FAKE_AIRFLOW_TAG"]
    deadline = time.monotonic() + 10
    while len(tagged_processes(tag)) < 2 * len(airflow_services.COMPONENTS):  # components + their "tasks"
        assert time.monotonic() < deadline, tagged_processes(tag)
        time.sleep(0.1)
    assert set(airflow_services.stop(settings)) == set(airflow_services.COMPONENTS)
    assert tagged_processes(tag) == []
    assert not any(s.running for s in airflow_services.component_status(settings))
    assert not list((settings.airflow_home / "run").glob("*.pid"))
    assert airflow_services.stop(settings) == []  # stopping again is harmless


def test_stop_kills_a_component_that_ignores_sigterm(settings: Settings, healthy,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_AIRFLOW_MODE", "stubborn")
    airflow_services.start(settings, timeout=20)
    started = time.monotonic()
    airflow_services.stop(settings, timeout=1)
    assert time.monotonic() - started < 15
    assert tagged_processes(os.environ["FAKE_AIRFLOW_TAG"]) == []


def test_a_component_dying_at_start_fails_fast_and_leaves_nothing(settings: Settings,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_AIRFLOW_MODE", "die")
    monkeypatch.setattr(airflow_services, "health", lambda url, timeout=5.0: None)
    started = time.monotonic()
    with pytest.raises(airflow_services.AirflowServiceError, match=r"exited during start.*api-server\.log"):
        airflow_services.start(settings, timeout=60)
    assert time.monotonic() - started < 30
    assert "boom: cannot start" in (settings.airflow_home / "logs" / "api-server.log").read_text()
    assert tagged_processes(os.environ["FAKE_AIRFLOW_TAG"]) == []
    assert not list((settings.airflow_home / "run").glob("*.pid"))


def test_a_busy_port_is_reported_before_anything_starts(settings: Settings) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", int(os.environ["AIRFLOW_PORT"])))
        busy.listen()
        with pytest.raises(airflow_services.AirflowServiceError, match="already in use.*AIRFLOW_PORT"):
            airflow_services.start(settings, timeout=5)
    assert tagged_processes(os.environ["FAKE_AIRFLOW_TAG"]) == []


def test_a_stale_pid_file_is_not_mistaken_for_a_running_component(settings: Settings) -> None:
    run_dir = settings.airflow_home / "run"
    run_dir.mkdir(parents=True)
    # Our own pid, but recorded with another start time: the pid was reused by an unrelated process.
    (run_dir / "scheduler.pid").write_text(json.dumps({"pid": os.getpid(), "create_time": 1.0}))
    (run_dir / "triggerer.pid").write_text("garbage")
    assert not any(s.running for s in airflow_services.component_status(settings))
    assert airflow_services.stop(settings) == []
    assert psutil.pid_exists(os.getpid())


def test_cli_status_reports_each_component_and_fails_when_down(settings: Settings,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from saas_analytics import cli

    monkeypatch.setattr(airflow_services, "get_settings", lambda: settings)
    result = CliRunner().invoke(cli.cli, ["airflow", "status"])
    assert result.exit_code == 1
    for name in airflow_services.COMPONENTS:
        assert f"{name}" in result.output and "not running" in result.output
    assert "the API does not answer" in result.output
    help_text = CliRunner().invoke(cli.cli, ["airflow", "--help"]).output
    for command in ("start", "stop", "status", "cli"):
        assert command in help_text


def test_a_rotated_password_is_printed_again(settings: Settings, healthy) -> None:
    first = airflow_services.start(settings, timeout=20)
    airflow_services.stop(settings)
    assert not airflow_services.start(settings, timeout=20).first_start
    airflow_services.stop(settings)
    airflow_runner.passwords_file(settings).unlink()  # how an operator rotates the admin password
    rotated = airflow_services.start(settings, timeout=20)
    assert rotated.first_start and rotated.password != first.password


def test_concurrent_starts_start_each_component_once(settings: Settings, healthy) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: airflow_services.start(settings, timeout=20), range(2)))
    assert sorted(len(r.started) for r in results) == [0, len(airflow_services.COMPONENTS)]
    time.sleep(0.5)
    tagged = tagged_processes(os.environ["FAKE_AIRFLOW_TAG"])
    components = [p for p in tagged if "sleep(300)" not in " ".join(p.cmdline())]  # not their "tasks"
    assert len(components) == len(airflow_services.COMPONENTS)


def test_the_scheduler_starts_only_once_the_api_server_answers(settings: Settings,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Task processes report to the api-server: it answers before the scheduler can queue a task."""
    doc = {part: {"status": "healthy"} for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")}
    answers = iter([None, None, None])  # the API answers from the fourth ask on
    asked: list[str] = []

    def health(url: str, timeout: float = 5.0) -> dict | None:
        asked.append(url)
        return next(answers, doc)

    spawned: list[tuple[str, int]] = []
    real_spawn = airflow_services._spawn

    def spawn(settings: Settings, name: str, env: dict[str, str]) -> psutil.Process:
        spawned.append((name, len(asked)))
        return real_spawn(settings, name, env)

    monkeypatch.setattr(airflow_services, "health", health)
    monkeypatch.setattr(airflow_services, "_spawn", spawn)
    airflow_services.start(settings, timeout=60)
    assert spawned == [("api-server", 0), ("dag-processor", 0), ("triggerer", 0), ("scheduler", 4)]


def test_task_processes_wait_30s_for_the_execution_api(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow's default is 5 s, which a busy 2-core machine exceeded on the first request after a start."""
    monkeypatch.delenv("AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT", raising=False)
    assert airflow_runner.airflow_env(settings)["AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT"] == "30"
    monkeypatch.setenv("AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT", "60")  # an operator's own value wins
    assert airflow_runner.airflow_env(settings)["AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT"] == "60"
