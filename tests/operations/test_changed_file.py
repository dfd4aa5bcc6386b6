"""Defect 4/3: a changed (or unreadable) file failed every run and blocked staging of all other files."""

from __future__ import annotations

from pathlib import Path

import pytest
from ops_helpers import rows, scalar, track, write_events

from pipeline_helpers import run_pipeline
from saas_analytics import loader, pipeline


def land_day_one(landing: Path) -> Path:
    return write_events(landing / "events_2026-06-01.jsonl.gz",
                        [track("a1", "u1", "2026-06-01"), track("a2", "u2", "2026-06-01")])


def test_reproduce_the_strict_loader_still_refuses_a_changed_file(warehouse_db: str, landing_dir: Path) -> None:
    """What every run did before: the changed file raised LoadError (and the load task failed)."""
    path = land_day_one(landing_dir)
    loader.load_landing(warehouse_db, landing_dir)
    write_events(path, [track("a1", "u1", "2026-06-01"), track("a3", "u3", "2026-06-01")])
    with pytest.raises(loader.LoadError, match="different content"):
        loader.load_landing(warehouse_db, landing_dir)


def test_changed_and_unreadable_files_are_quarantined_and_the_others_reach_the_analytics(
        warehouse_db: str, landing_dir: Path) -> None:
    path = land_day_one(landing_dir)
    run_pipeline(warehouse_db, landing_dir, run_id="run-1")
    pipeline.record_run(warehouse_db, "run-1", "saas_analytics_daily", None, None)

    write_events(path, [track("a1", "u1", "2026-06-01"), track("a3", "u3", "2026-06-01")])  # changed
    write_events(landing_dir / "events_2026-06-02.jsonl.gz",
                 [track("b1", "u1", "2026-06-02"), track("b2", "u4", "2026-06-02")])
    broken = landing_dir / "events_2026-06-03.jsonl.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00 truncated upload")

    run_pipeline(warehouse_db, landing_dir, run_id="run-2")  # no exception: the run goes on
    summary = pipeline.record_run(warehouse_db, "run-2", "saas_analytics_daily", None, None)
    assert summary["files_loaded"] == 1

    # the good new day went through every layer in the same run
    assert rows(warehouse_db, "select activity_date, dau from analytics.daily_active_users order by 1") == [
        (__import__("datetime").date(2026, 6, 1), 2), (__import__("datetime").date(2026, 6, 2), 2)]
    # the loaded version of the changed file is untouched, the new content is not loaded
    assert scalar(warehouse_db, "select count(*) from core.fact_events where message_id = 'a3'") == 0
    quarantined = rows(warehouse_db, "select file_name, status, reason from analytics.pipeline_quarantined_files"
                       " order by file_name")
    assert [(n, s) for n, s, _ in quarantined] == [("events_2026-06-01.jsonl.gz", "quarantined"),
                                                  ("events_2026-06-03.jsonl.gz", "quarantined")]
    assert "files replace events_2026-06-01.jsonl.gz" in quarantined[0][2]
    assert "cannot read" in quarantined[1][2]
    status, reason = rows(warehouse_db, "select status, reason from analytics.pipeline_runs where run_id = 'run-2'")[0]
    assert status == "warning" and reason.startswith("load: 2 landing file(s) quarantined")

    # seen again by the next run: still quarantined, logged once, not once per run
    run_pipeline(warehouse_db, landing_dir, run_id="run-3")
    assert scalar(warehouse_db, "select count(*) from raw.load_failures") == 2
    assert scalar(warehouse_db, "select count(*) from raw.quarantined_files") == 2

    # the complete upload arrives under the broken name: it loads and its quarantine is resolved
    write_events(broken, [track("c1", "u1", "2026-06-03")])
    run_pipeline(warehouse_db, landing_dir, run_id="run-4")
    assert rows(warehouse_db, "select file_name, status, resolution from raw.quarantined_files order by 1") == [
        ("events_2026-06-01.jsonl.gz", "quarantined", None), ("events_2026-06-03.jsonl.gz", "resolved", "loaded")]
    assert scalar(warehouse_db, "select dau from analytics.daily_active_users where activity_date = '2026-06-03'") == 1


def test_the_pipeline_health_dashboard_has_a_quarantine_card() -> None:
    import yaml

    from saas_analytics.config import get_settings

    board = yaml.safe_load((get_settings().sql_dir / "dashboards" / "pipeline_health.yml").read_text())
    cards = {c["sql"]: c for c in board["cards"]}
    assert "quarantined_files.sql" in cards
    text = (get_settings().sql_dir / "dashboards" / "pipeline_health" / "quarantined_files.sql").read_text()
    assert "analytics.pipeline_quarantined_files" in text
