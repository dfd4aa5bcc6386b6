"""Defect 3: errors that can never succeed were retried (minutes of back-off) and the CLI hid the cause.

Each run below uses the DAG's own retry count (2) with a 1 s delay (a test-only cluster policy), so a task
that Airflow retries shows try 2 or 3 and one that it does not shows try 1.
"""

from __future__ import annotations

import shutil

import psycopg
import pytest
from ops_helpers import rows, track, write_events

from saas_analytics import errors, loader, pipeline

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]


def test_permanent_errors_become_airflow_fail_exceptions(warehouse_db: str, tmp_path) -> None:
    """The task layer turns a permanent error into an AirflowFailException that is still the library's error."""
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException) as caught:
        pipeline.load(warehouse_db, "run-x", tmp_path / "nowhere")
    assert isinstance(caught.value, loader.LandingDirMissing | loader.LoadError)
    assert "does not exist" in str(caught.value)
    assert not errors.is_transient(caught.value)
    assert errors.is_transient(psycopg.OperationalError("server closed the connection unexpectedly"))


def test_a_missing_landing_dir_fails_at_once_with_its_reason(deployment) -> None:
    shutil.rmtree(deployment.settings.landing_dir)
    result = deployment.cli("run")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: load: landing folder ") and "does not exist" in last, result.stderr[-2000:]
    assert deployment.try_numbers()["load"] == 1, "a permanent error was retried"
    status, reason = rows(deployment.warehouse, "select status, reason from analytics.pipeline_runs")[0]
    assert status == "failed" and reason == last.removeprefix("error: ")


def test_a_failing_data_test_fails_at_once_with_its_reason(deployment) -> None:
    write_events(deployment.settings.landing_dir / "events_2026-06-01.jsonl.gz", [track("a1", "u1", "2026-06-01")])
    with psycopg.connect(deployment.warehouse, autocommit=True) as conn:
        conn.execute("insert into core.fact_daily_user_activity (user_id, activity_date, activity_events, track_events,"
                     " feature_uses, distinct_features, document_events, first_event_at, last_event_at, platform)"
                     " values ('ghost', '2020-01-01', 1, 1, 0, 0, 0, now(), now(), 'web')")
    result = deployment.cli("run")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: data_tests_core: data tests failed"), result.stderr[-2000:]
    assert deployment.try_numbers()["data_tests_core"] == 1
    # the failed run is in the audit, as failed, and nothing after the failed check ran
    assert rows(deployment.warehouse, "select status, reason from analytics.pipeline_runs") == [
        ("failed", last.removeprefix("error: "))]
    stages = dict(rows(deployment.warehouse, "select stage, status from analytics.pipeline_run_stages"))
    assert stages["data_tests_core"] == "failed" and stages["core"] == "success"
    assert "refresh_analytics" not in stages


def test_a_dropped_connection_is_retried_and_the_run_succeeds(deployment) -> None:
    write_events(deployment.settings.landing_dir / "events_2026-06-01.jsonl.gz", [track("a1", "u1", "2026-06-01")])
    with psycopg.connect(deployment.warehouse, autocommit=True) as conn:
        # the first load batch's connection is dropped by the server (a transient fault), later ones are not
        conn.execute("create sequence public.faults")
        conn.execute("create function public.drop_connection_once() returns trigger language plpgsql as $$"
                     " begin if nextval('public.faults') = 1 then perform pg_terminate_backend(pg_backend_pid());"
                     " end if; return new; end $$")
        conn.execute("create trigger drop_connection_once before insert on raw.load_batches"
                     " for each row execute function public.drop_connection_once()")
    result = deployment.cli("run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert deployment.try_numbers()["load"] == 2, "the transient fault was not retried"
    assert rows(deployment.warehouse, "select status, files_loaded from analytics.pipeline_runs") == [("success", 1)]
    assert rows(deployment.warehouse, "select count(*) from core.fact_events") == [(1,)]
