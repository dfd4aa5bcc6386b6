"""The pipeline stages' skip rules: a run with nothing new refreshes nothing and re-checks nothing."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import psycopg
import pytest

from pipeline_helpers import run_pipeline
from saas_analytics import pipeline, transform
from saas_analytics.config import get_settings


def write_day(landing_dir: Path, day: str, users: list[str]) -> None:
    """One landing file: each user signs up and views a page on `day`."""
    landing_dir.mkdir(parents=True, exist_ok=True)
    with gzip.open(landing_dir / f"events_{day}.jsonl.gz", "wt") as fh:
        for user in users:
            for n, name in enumerate(("signed_up", "page_viewed")):
                fh.write(json.dumps({"message_id": f"{user}-{day}-{n}", "type": "track", "event": name,
                                     "user_id": user, "timestamp": f"{day}T10:0{n}:00Z"}) + "\n")


def stage(conninfo: str, run_id: str, name: str) -> dict:
    """The recorded detail of one stage of a run."""
    with psycopg.connect(conninfo) as conn:
        return conn.execute("select detail from analytics.pipeline_run_stages where run_id = %s and stage = %s",
                            [run_id, name]).fetchone()[0]


def daily_run(conninfo: str, landing_dir: Path, run_id: str) -> None:
    """The DAG's warehouse stages with its skip rules on."""
    pipeline.load(conninfo, run_id, landing_dir)
    pipeline.build_layer(conninfo, run_id, "staging")
    pipeline.build_layer(conninfo, run_id, "core")
    pipeline.check(conninfo, run_id, pipeline.CORE_TEST_LAYERS, skip_unchanged=True)
    pipeline.refresh(conninfo, run_id, skip_unchanged=True)
    pipeline.check(conninfo, run_id, pipeline.ANALYTICS_TEST_LAYERS, skip_unchanged=True)


def test_nothing_new_skips_refresh_and_checks_and_new_data_runs_them(warehouse_db: str, landing_dir: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    write_day(landing_dir, "2026-06-01", ["ann", "bob"])
    daily_run(warehouse_db, landing_dir, "r1")
    assert "skipped" not in stage(warehouse_db, "r1", "refresh_analytics")
    assert "skipped" not in stage(warehouse_db, "r1", "data_tests_core")
    daily_run(warehouse_db, landing_dir, "r2")  # nothing new
    for name in ("refresh_analytics", "data_tests_core", "data_tests_analytics"):
        assert stage(warehouse_db, "r2", name)["skipped"].startswith("nothing changed since run r1"), name
    # new data: everything runs again, and the views see it
    write_day(landing_dir, "2026-06-02", ["cat"])
    daily_run(warehouse_db, landing_dir, "r3")
    for name in ("refresh_analytics", "data_tests_core", "data_tests_analytics"):
        assert "skipped" not in stage(warehouse_db, "r3", name), name
    with psycopg.connect(warehouse_db) as conn:
        assert conn.execute("select dau from analytics.daily_active_users where activity_date = '2026-06-02'"
                            ).fetchone() == (1,)
    # a full sweep on demand runs the checks although nothing changed
    monkeypatch.setenv("DATA_CHECKS_FULL", "1")
    get_settings.cache_clear()
    try:
        daily_run(warehouse_db, landing_dir, "r4")
    finally:
        monkeypatch.delenv("DATA_CHECKS_FULL")
        get_settings.cache_clear()
    assert "skipped" not in stage(warehouse_db, "r4", "data_tests_core")
    assert stage(warehouse_db, "r4", "refresh_analytics")["skipped"].startswith("nothing changed since run r3")


def test_the_state_changes_with_each_layer_and_only_then(warehouse_db: str, landing_dir: Path) -> None:
    write_day(landing_dir, "2026-06-01", ["ann"])
    run_pipeline(warehouse_db, landing_dir, "r1")
    with psycopg.connect(warehouse_db) as conn:
        before = pipeline.warehouse_state(conn)
        same = pipeline.warehouse_state(conn)
    write_day(landing_dir, "2026-06-02", ["bob"])
    pipeline.load(warehouse_db, "r2", landing_dir)
    with psycopg.connect(warehouse_db) as conn:
        loaded = pipeline.warehouse_state(conn)
    pipeline.build_layer(warehouse_db, "r2", "staging")
    with psycopg.connect(warehouse_db) as conn:
        staged = pipeline.warehouse_state(conn)
    pipeline.build_layer(warehouse_db, "r2", "core")
    with psycopg.connect(warehouse_db) as conn:
        merged = pipeline.warehouse_state(conn)
    assert before == same
    assert len({before, loaded, staged, merged}) == 4


def test_a_failed_check_is_never_skipped(warehouse_db: str, landing_dir: Path) -> None:
    write_day(landing_dir, "2026-06-01", ["ann"])
    daily_run(warehouse_db, landing_dir, "r1")
    with psycopg.connect(warehouse_db, autocommit=True) as conn:
        conn.execute("delete from core.fact_daily_user_activity where user_id = 'ann'")
    # a hand edit is not in the fingerprint: the DAG's check skips, the full sweep finds it
    assert "skipped" in pipeline.check(warehouse_db, "r2", pipeline.CORE_TEST_LAYERS, skip_unchanged=True)
    with pytest.raises(transform.DataTestError):
        pipeline.check(warehouse_db, "r3", pipeline.CORE_TEST_LAYERS)
    with pytest.raises(transform.DataTestError):  # the failure is now the stage's latest: no skip
        pipeline.check(warehouse_db, "r4", pipeline.CORE_TEST_LAYERS, skip_unchanged=True)
