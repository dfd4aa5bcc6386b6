"""Loader: COPY into raw, exactly once per file, malformed lines kept with a reason, atomic per file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import psycopg
import pytest

from saas_analytics import loader


def event(i: int, **extra) -> dict:
    """A valid track event."""
    return {"message_id": f"m{i}", "type": "track", "event": "page_viewed", "user_id": f"u{i % 3}",
            "timestamp": "2026-06-01T10:00:00Z", "properties": {"path": "/a\\b\t\"c\""}, **extra}


def write_lines(path: Path, lines: list[bytes]) -> Path:
    """Write raw lines as a gzip landing file."""
    with gzip.open(path, "wb") as fh:
        fh.write(b"\n".join(lines) + b"\n")
    return path


def scalar(conninfo: str, query: str, *params):
    """First column of the first row."""
    with psycopg.connect(conninfo) as conn:
        return conn.execute(query, params).fetchone()[0]


def test_good_lines_of_a_file_with_malformed_lines_all_load(warehouse_db, landing_dir):
    good = [json.dumps(event(i)).encode() for i in range(20)]
    bad = {3: b'{"truncated": ', 7: b"\xff\xfe not utf-8", 11: b"", 15: b'{"nul": "\\u0000"}', 18: b"\x02{}"}
    lines = list(good)
    for pos in sorted(bad):
        lines.insert(pos - 1, bad[pos])
    write_lines(landing_dir / "events_2026-06-01.jsonl.gz", lines)

    report = loader.load_landing(warehouse_db, landing_dir)

    assert [f.status for f in report.files] == ["loaded"]
    assert report.lines_loaded == 20 and report.lines_rejected == 5
    with psycopg.connect(warehouse_db) as conn:
        rejected = dict(conn.execute("select line_no, reason from raw.rejected_lines").fetchall())
        assert sorted(rejected) == sorted(bad)
        assert rejected[3].startswith("invalid JSON")
        assert rejected[7].startswith("not valid UTF-8")
        assert rejected[11] == "empty line"
        payloads = conn.execute("select line_no, payload from raw.events order by line_no").fetchall()
    assert len(payloads) == 20
    # every good line arrives byte-for-byte in meaning, escapes and all, at its own line number
    by_line = {n: p for n, p in payloads}
    for n, line in enumerate(lines, 1):
        if n not in bad:
            assert by_line[n] == json.loads(line)


def test_relanding_a_loaded_file_loads_nothing(warehouse_db, landing_dir):
    write_lines(landing_dir / "events_2026-06-01.jsonl.gz", [json.dumps(event(i)).encode() for i in range(5)])
    loader.load_landing(warehouse_db, landing_dir)
    # the same bytes again, and the same bytes under another name
    (landing_dir / "events_2026-06-01-copy.jsonl.gz").write_bytes(
        (landing_dir / "events_2026-06-01.jsonl.gz").read_bytes())

    second = loader.load_landing(warehouse_db, landing_dir)

    assert [f.status for f in second.files] == ["skipped", "skipped"]
    messages = {f.file_name: f.message for f in second.files}
    assert messages["events_2026-06-01-copy.jsonl.gz"] == (
        "identical content already loaded as events_2026-06-01.jsonl.gz")
    assert scalar(warehouse_db, "select count(*) from raw.events") == 5
    assert scalar(warehouse_db, "select count(*) from raw.load_files") == 1


def test_a_changed_file_is_an_error_not_a_double_load(warehouse_db, landing_dir):
    path = write_lines(landing_dir / "events_2026-06-01.jsonl.gz", [json.dumps(event(1)).encode()])
    loader.load_landing(warehouse_db, landing_dir)
    write_lines(path, [json.dumps(event(1)).encode(), json.dumps(event(2)).encode()])
    write_lines(landing_dir / "events_2026-06-02.jsonl.gz", [json.dumps(event(3)).encode()])

    with pytest.raises(loader.LoadError, match="events_2026-06-01.jsonl.gz.*different content.*files replace"):
        loader.load_landing(warehouse_db, landing_dir)

    # the other new file still loaded; the changed one left a failure record and no rows
    assert scalar(warehouse_db, "select count(*) from raw.events") == 2
    assert scalar(warehouse_db, "select count(*) from raw.load_failures where file_name = %s",
                  "events_2026-06-01.jsonl.gz") == 1


def test_a_file_that_breaks_mid_way_leaves_no_partial_rows(warehouse_db, landing_dir):
    path = write_lines(landing_dir / "events_2026-06-01.jsonl.gz",
                       [json.dumps(event(i)).encode() for i in range(50_000)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a truncated gzip: reading fails after many lines were sent

    with pytest.raises(loader.LoadError, match="cannot read"):
        loader.load_landing(warehouse_db, landing_dir)

    assert scalar(warehouse_db, "select count(*) from raw.events") == 0
    assert scalar(warehouse_db, "select count(*) from raw.load_files") == 0
    # once a complete copy is landed under a new name, it loads in full
    write_lines(landing_dir / "events_2026-06-01b.jsonl.gz", [json.dumps(event(i)).encode() for i in range(50_000)])
    report = loader.load_landing(warehouse_db, landing_dir, fail_on_error=False)
    assert report.lines_loaded == 50_000


def test_missing_landing_folder_is_a_clear_error(warehouse_db, tmp_path):
    with pytest.raises(loader.LoadError, match="does not exist"):
        loader.load_landing(warehouse_db, tmp_path / "nowhere")


def test_files_load_in_name_order_and_plain_jsonl_is_accepted(warehouse_db, landing_dir):
    (landing_dir / "events_2026-06-02.jsonl").write_text(json.dumps(event(2)) + "\n")
    write_lines(landing_dir / "events_2026-06-01.jsonl.gz", [json.dumps(event(1)).encode()])
    (landing_dir / "notes.txt").write_text("not a landing file")

    loader.load_landing(warehouse_db, landing_dir)

    with psycopg.connect(warehouse_db) as conn:
        names = [r[0] for r in conn.execute("select file_name from raw.load_files order by file_id")]
    assert names == ["events_2026-06-01.jsonl.gz", "events_2026-06-02.jsonl"]
