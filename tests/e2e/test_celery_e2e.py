"""Scale-out that has actually run: Airflow's CeleryExecutor with Redis and two workers on this machine.

Starts Debian's `redis-server` on a free localhost port, the local deployment (`airflow_services.start`)
with `AIRFLOW__CORE__EXECUTOR=CeleryExecutor`, and two `airflow celery worker`s
(`airflow_services.start_workers`); triggers the DAG through REST API v2 as the UI does and checks that
the workers ran every task and that the analytics equal the pandas reference and a local run's.
How this maps onto the compose `celery` profile and Kubernetes: docs/airflow.md.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import redis
from test_airflow_e2e import (
    UI_TRIGGER_BODY,
    Api,
    airflow_processes,
    create_database,
    drop_database,
    free_port,
    scalar,
)

from saas_analytics import airflow_runner, airflow_services
from saas_analytics.config import DAG_ID

pytestmark = [pytest.mark.airflow, pytest.mark.celery, pytest.mark.timeout(900)]

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
# What a Celery worker logs for each task instance it executes.
WORKLOAD = re.compile(r"Executing workload in Celery: .*?task_id='([^']+)', dag_id='[^']+', run_id='([^']+)'")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Debian's redis-server on a free localhost port, no persistence; stopped at the end."""
    if not Path(REDIS).exists():
        pytest.fail(f"redis-server is required ({REDIS} missing): apt-get install -y redis-server (.ci/run does)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.2)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=30)


def test_celery_executor_with_two_workers_runs_the_dag(pg_server: dict, migrated_template: str, redis_url: str,
                                                       tmp_path: Path) -> None:
    from pipeline_helpers import ANALYTICS_KEYS, assert_matches_reference, read_table, run_pipeline
    from saas_analytics.simulator import SimulationConfig, simulate

    data = tmp_path / "data"
    simulate(SimulationConfig(days=6, users=60, seed=13), data / "landing")
    admin = pg_server["admin"]
    wh_name, af_name, clean_name = (f"saas_celwh_{os.getpid()}", f"saas_celmeta_{os.getpid()}",
                                    f"saas_celclean_{os.getpid()}")
    warehouse = create_database(admin, wh_name, migrated_template)
    metadata = create_database(admin, af_name)
    settings = replace(pg_server["settings"], database_url=warehouse, airflow_database_url=metadata,
                       data_dir=data, landing_dir=data / "landing", airflow_home=data / "airflow",
                       airflow_host="127.0.0.1", airflow_port=free_port())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
        mp.setenv("AIRFLOW__CELERY__BROKER_URL", redis_url)
        mp.setenv("AIRFLOW__CELERY__WORKER_CONCURRENCY", "2")
        mp.setenv("AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT", str(free_port()))
        mp.setenv("AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT", str(free_port()))
        try:
            first = airflow_services.start(settings)
            started = airflow_services.start_workers(settings, 2)
            assert started == ["celery-worker-1", "celery-worker-2"]
            assert airflow_runner.airflow_env(settings)["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
            api = Api(first.url, first.username, first.password)
            api.wait_idle(timeout=300)  # the scheduled run of the latest 02:00 tick, if the timetable made one
            created = api.post(f"/api/v2/dags/{DAG_ID}/dagRuns", UI_TRIGGER_BODY)
            run = api.wait_for_run(created["dag_run_id"], timeout=480)
            states = api.task_states(run["dag_run_id"])
            assert run["state"] == "success", states
            assert all(state == "success" for state, _ in states.values()), states

            tis = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances")["task_instances"]
            assert {ti.get("executor") or "CeleryExecutor" for ti in tis} == {"CeleryExecutor"}
            # every task of the run went through a Celery worker, and both workers took work
            ran = {name: set(WORKLOAD.findall(airflow_services.log_file(settings, name).read_text(errors="replace")))
                   for name in started}
            this_run = {task for done in ran.values() for task, run_id in done if run_id == run["dag_run_id"]}
            assert this_run == {ti["task_id"] for ti in tis}, (this_run, ran)
            assert all(ran.values()), f"a worker ran nothing: { {k: len(v) for k, v in ran.items()} }"
            print(f"task instances executed per worker (all runs): { {k: len(v) for k, v in ran.items()} }")
        finally:
            airflow_services.stop(settings)
            leftovers = airflow_processes(settings.airflow_home)
            for proc in leftovers:
                proc.kill()
    assert not leftovers, f"processes left running after stop: {leftovers}"

    try:
        assert scalar(warehouse, "select count(*) from analytics.pipeline_runs where status = 'success'") >= 1
        assert_matches_reference(warehouse, settings.landing_dir)
        clean = create_database(admin, clean_name, migrated_template)
        run_pipeline(clean, settings.landing_dir, run_id="local")
        for name in ANALYTICS_KEYS:
            pd.testing.assert_frame_equal(read_table(warehouse, name), read_table(clean, name), obj=name)
    finally:
        for name in (wh_name, af_name, clean_name):
            drop_database(admin, name)
