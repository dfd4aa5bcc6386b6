"""Defect 4: a file caught mid-upload (0 bytes, or still being written) was registered for ever."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ops_helpers import rows, scalar, track, write_events

from saas_analytics import loader, pipeline


def test_reproduce_a_zero_byte_file_registers_with_zero_lines(warehouse_db: str, landing_dir: Path) -> None:
    """The old path (straight to load_file, no lifecycle): an empty file becomes a 0-line registry entry."""
    path = landing_dir / "events_2026-06-01.jsonl"
    path.write_bytes(b"")
    with __import__("psycopg").connect(warehouse_db, autocommit=True) as conn:
        batch = conn.execute("insert into raw.load_batches (run_id) values ('old') returning batch_id").fetchone()[0]
        result = loader.load_file(conn, path, loader.file_sha256(path), batch)
    assert (result.status, result.lines_read) == ("loaded", 0)
    # … and the real content arriving under that name was then "changed": every run failed on it.


def test_zero_byte_file_waits_then_its_content_loads(warehouse_db: str, landing_dir: Path) -> None:
    path = landing_dir / "events_2026-06-01.jsonl"
    path.write_bytes(b"")
    write_events(landing_dir / "events_2026-06-02.jsonl.gz", [track("b1", "u1", "2026-06-02")])

    first = pipeline.load(warehouse_db, "run-1", landing_dir)
    assert first["files_loaded"] == 1 and first["waiting"] == 1 and first["quarantined"] == 0
    assert rows(warehouse_db, "select file_name from raw.load_files") == [("events_2026-06-02.jsonl.gz",)]
    assert scalar(warehouse_db, "select count(*) from raw.quarantined_files") == 0
    detail = scalar(warehouse_db, "select detail from analytics.pipeline_run_stages where run_id = 'run-1'")
    assert detail["waiting"] == ["events_2026-06-01.jsonl"]

    write_events(path, [track("a1", "u1", "2026-06-01"), track("a2", "u2", "2026-06-01")])
    second = pipeline.load(warehouse_db, "run-2", landing_dir)
    assert second["files_loaded"] == 1 and second["waiting"] == 0
    assert rows(warehouse_db, "select file_name, lines_loaded from raw.load_files order by file_id") == [
        ("events_2026-06-02.jsonl.gz", 1), ("events_2026-06-01.jsonl", 2)]
    pipeline.build_layer(warehouse_db, "run-2", "staging")
    pipeline.build_layer(warehouse_db, "run-2", "core")
    assert scalar(warehouse_db, "select count(*) from core.fact_events") == 3


def test_a_file_younger_than_the_settle_time_waits(warehouse_db: str, landing_dir: Path) -> None:
    fresh = write_events(landing_dir / "events_2026-06-01.jsonl.gz", [track("a1", "u1", "2026-06-01")])
    old = write_events(landing_dir / "events_2026-05-31.jsonl.gz", [track("z1", "u1", "2026-05-31")])
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))

    report = loader.load_landing(warehouse_db, landing_dir, settle_seconds=60)
    assert {f.file_name: f.status for f in report.files} == {
        "events_2026-06-01.jsonl.gz": "waiting", "events_2026-05-31.jsonl.gz": "loaded"}
    assert "LANDING_SETTLE_SECONDS" in report.waiting[0].message

    os.utime(fresh, (an_hour_ago, an_hour_ago))  # the upload finished long ago
    again = loader.load_landing(warehouse_db, landing_dir, settle_seconds=60)
    assert [f.status for f in again.files] == ["skipped", "loaded"]


def test_settle_time_is_a_setting(monkeypatch) -> None:
    from saas_analytics.config import get_settings

    monkeypatch.delenv("LANDING_SETTLE_SECONDS", raising=False)
    get_settings.cache_clear()
    try:
        assert get_settings().landing_settle_seconds == 60
        monkeypatch.setenv("LANDING_SETTLE_SECONDS", "5")
        get_settings.cache_clear()
        assert get_settings().landing_settle_seconds == 5
        monkeypatch.setenv("LANDING_SETTLE_SECONDS", "soon")
        get_settings.cache_clear()
        try:
            get_settings()
            raise AssertionError("a bad LANDING_SETTLE_SECONDS was accepted")
        except ValueError as exc:
            assert "LANDING_SETTLE_SECONDS" in str(exc)
    finally:
        monkeypatch.setenv("LANDING_SETTLE_SECONDS", "0")
        get_settings.cache_clear()
