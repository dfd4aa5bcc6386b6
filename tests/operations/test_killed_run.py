"""Defect 1: a killed `saas-analytics run` left its DagRun `running` for ever, and the schedule queued behind it."""

from __future__ import annotations

import os
import signal
import time

import psycopg
import pytest
from ops_helpers import track, write_events

from saas_analytics import airflow_runner, loader

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]


def wait_for_running_load(deployment, proc, timeout: float = 180) -> str:
    """The run_id once its `load` task is running (it then waits on the loader's lock, held by the test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        try:
            with psycopg.connect(deployment.metadata) as conn:
                row = conn.execute("select run_id from task_instance where task_id = 'load'"
                                   " and state = 'running'").fetchone()
        except psycopg.Error:
            row = None  # metadata database not migrated yet
        if row:
            return row[0]
        time.sleep(0.5)
    raise AssertionError("the load task never started")


@pytest.fixture
def held_loader_lock(deployment):
    """Hold the loader's advisory lock so a run's `load` task blocks until the test lets go."""
    write_events(deployment.settings.landing_dir / "events_2026-06-01.jsonl.gz", [track("a1", "u1", "2026-06-01")])
    conn = psycopg.connect(deployment.warehouse, autocommit=True)
    conn.execute("select pg_advisory_lock(%s)", [loader.LOADER_LOCK])
    yield conn
    conn.close()


def test_a_killed_run_stays_running_until_the_next_run_fails_it(deployment, held_loader_lock) -> None:
    proc = deployment.popen("run")
    run_id = wait_for_running_load(deployment, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # kill -9 of the whole process group: nothing can clean up
    proc.wait(timeout=30)
    time.sleep(2)
    assert dict(deployment.dag_runs())[run_id] == "running"  # the defect: left running

    stale = airflow_runner.active_runs(deployment.settings)
    assert [(r.run_id, r.stale) for r in stale] == [(run_id, True)]
    status = deployment.cli("airflow", "status")
    assert status.returncode == 1
    assert f"run {run_id}: STUCK" in status.stdout and "saas-analytics airflow fail-stale" in status.stdout

    held_loader_lock.execute("select pg_advisory_unlock_all()")
    result = deployment.cli("run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"run: marked stale run {run_id} failed" in result.stdout
    assert "run: Airflow's metadata database is up to date" in result.stdout  # no second `airflow db migrate`
    runs = deployment.dag_runs()
    assert runs[0] == (run_id, "failed") and runs[1][1] == "success" and len(runs) == 2
    with psycopg.connect(deployment.metadata) as conn:
        states = dict(conn.execute("select task_id, state from task_instance where run_id = %s", [run_id]).fetchall())
    assert states["load"] in ("failed", "skipped") and "running" not in states.values()
    assert airflow_runner.active_runs(deployment.settings) == []


def test_an_interrupted_run_marks_its_own_dag_run_failed(deployment, held_loader_lock) -> None:
    proc = deployment.popen("run")
    run_id = wait_for_running_load(deployment, proc)
    proc.send_signal(signal.SIGTERM)  # what `kill`, systemd or a CI timeout sends to the CLI
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, output[-3000:]
    last = output.strip().splitlines()[-1]
    assert last == f"error: run interrupted by SIGTERM; Airflow run {run_id} marked failed", output[-2000:]
    assert deployment.dag_runs() == [(run_id, "failed")]
    assert airflow_runner.active_runs(deployment.settings) == []
