"""Loader: COPY into raw, exactly once per file, malformed lines kept with a reason, atomic per file."""

from __future__ import annotations

import gzip
import json
import os
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
    bad = {3: b'{"truncated": ', 7: b"\xff\xfe not utf-8", 15: b'{"n": NaN}', 18: b"\x02{}", 21: b'{"x": Infinity}'}
    lines = list(good)
    for pos in sorted(bad):
        lines.insert(pos - 1, bad[pos])
    lines.insert(10, b"")  # line 11: blank, skipped and not counted
    write_lines(landing_dir / "events_2026-06-01.jsonl.gz", lines)

    report = loader.load_landing(warehouse_db, landing_dir)

    assert [f.status for f in report.files] == ["loaded"]
    assert report.lines_loaded == 20 and report.lines_rejected == 5
    assert report.files[0].lines_read == 25
    with psycopg.connect(warehouse_db) as conn:
        rejected = dict(conn.execute("select line_no, reason from raw.rejected_lines").fetchall())
        payloads = conn.execute("select line_no, payload from raw.events order by line_no").fetchall()
    line_of = {3: 3, 7: 7, 15: 16, 18: 19, 21: 22}  # physical line numbers (the blank line 11 shifts the rest)
    assert sorted(rejected) == sorted(line_of.values())
    assert rejected[3].startswith("invalid JSON")
    assert rejected[7].startswith("not valid UTF-8")
    assert "NaN is not a JSON value" in rejected[16] and "Infinity is not a JSON value" in rejected[22]
    assert len(payloads) == 20
    # every good line arrives byte-for-byte in meaning, escapes and all, at its own line number
    by_line = {n: p for n, p in payloads}
    for n, line in enumerate(lines, 1):
        if n not in rejected and line:
            assert by_line[n] == json.loads(line)


def test_bom_crlf_nul_and_blank_lines(warehouse_db, landing_dir):
    lines = [
        json.dumps(event(1)).encode(),
        json.dumps(event(2, properties={"q": "a\u0000b", "k\u0000": "\\u0000 stays text"})).encode(),
        b"",
        b"  ",
        b"\xc3\x28 not utf-8",
        json.dumps(event(3)).encode(),
    ]
    (landing_dir / "crlf.jsonl").write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n")

    report = loader.load_landing(warehouse_db, landing_dir)

    assert (report.files[0].lines_read, report.lines_loaded, report.lines_rejected) == (4, 3, 1)
    with psycopg.connect(warehouse_db) as conn:
        payloads = dict(conn.execute("select line_no, payload from raw.events").fetchall())
        rejected = conn.execute("select line_no, reason from raw.rejected_lines").fetchall()
    assert sorted(payloads) == [1, 2, 6]
    assert payloads[1]["message_id"] == "m1"  # the BOM did not cost the first event
    assert payloads[2]["properties"] == {"q": "a\ufffdb", "k\ufffd": "\\u0000 stays text"}
    assert [(n, r.split(" (")[0]) for n, r in rejected] == [(5, "not valid UTF-8")]


def test_landing_discovery_is_recursive_with_relative_paths(warehouse_db, landing_dir):
    for i, rel in enumerate(["date=2024-01-02/part-0.jsonl.gz", "date=2024-01-01/part-0.jsonl.gz",
                             "seg/src/17000/ab.gz", "x/y.ndjson", "x/z.json.gz", "x/w.json"]):
        (landing_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        write_lines(landing_dir / rel, [json.dumps(event(i)).encode()]) if rel.endswith(".gz") else (
            (landing_dir / rel).write_text(json.dumps(event(i)) + "\n"))
    for ignored in ["date=2024-01-01/_SUCCESS", "date=2024-01-01/.part-1.jsonl", "_tmp/a.jsonl", ".hidden/b.jsonl",
                    "x/notes.txt", "x/y.ndjson.crc"]:
        (landing_dir / ignored).parent.mkdir(parents=True, exist_ok=True)
        (landing_dir / ignored).write_text("{}\n")

    report = loader.load_landing(warehouse_db, landing_dir)

    assert [f.file_name for f in report.files] == [
        "date=2024-01-01/part-0.jsonl.gz", "date=2024-01-02/part-0.jsonl.gz", "seg/src/17000/ab.gz", "x/w.json",
        "x/y.ndjson", "x/z.json.gz"]
    assert all(f.status == "loaded" for f in report.files)


def test_symlinked_folders_are_followed_once_and_loops_end(warehouse_db, landing_dir, tmp_path):
    bucket = tmp_path / "bucket" / "day=1"
    bucket.mkdir(parents=True)
    write_lines(bucket / "part-0.jsonl.gz", [json.dumps(event(1)).encode()])
    (landing_dir / "own").mkdir()
    write_lines(landing_dir / "own" / "a.jsonl.gz", [json.dumps(event(2)).encode()])
    (landing_dir / "mounted").symlink_to(tmp_path / "bucket", target_is_directory=True)  # a bucket linked in
    (landing_dir / "own" / "up").symlink_to(landing_dir, target_is_directory=True)  # a loop back to the root
    (landing_dir / "zz-again").symlink_to(tmp_path / "bucket", target_is_directory=True)  # the same folder twice

    report = loader.load_landing(warehouse_db, landing_dir)

    assert [(f.file_name, f.status) for f in report.files] == [
        ("mounted/day=1/part-0.jsonl.gz", "loaded"), ("own/a.jsonl.gz", "loaded")]
    assert scalar(warehouse_db, "select count(*) from raw.events") == 2


def test_a_landing_folder_with_nothing_new_is_a_successful_run(warehouse_db, landing_dir):
    said: list[str] = []
    report = loader.load_landing(warehouse_db, landing_dir, progress=said.append)
    assert report.files == [] and "no landing files" in said[0]
    write_lines(landing_dir / "a.jsonl.gz", [json.dumps(event(1)).encode()])
    loader.load_landing(warehouse_db, landing_dir)
    said.clear()
    report = loader.load_landing(warehouse_db, landing_dir, progress=said.append)
    assert [f.status for f in report.files] == ["skipped"]
    assert "0 new files" in said[-1] and "1 already loaded" in said[-1]


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


def _hashes(monkeypatch) -> list[str]:
    """Record the files the loader hashes (reads whole) from now on."""
    hashed: list[str] = []
    real = loader.file_sha256

    def spy(path: Path) -> str:
        hashed.append(path.name)
        return real(path)

    monkeypatch.setattr(loader, "file_sha256", spy)
    return hashed


def test_a_run_reads_only_new_or_touched_files(warehouse_db, landing_dir, monkeypatch):
    old = write_lines(landing_dir / "events_2026-06-01.jsonl.gz", [json.dumps(event(1)).encode()])
    loader.load_landing(warehouse_db, landing_dir)
    hashed = _hashes(monkeypatch)

    write_lines(landing_dir / "events_2026-06-02.jsonl.gz", [json.dumps(event(2)).encode()])
    report = loader.load_landing(warehouse_db, landing_dir)
    assert hashed == ["events_2026-06-02.jsonl.gz"]
    assert [(f.file_name, f.status) for f in report.files] == [
        ("events_2026-06-01.jsonl.gz", "skipped"), ("events_2026-06-02.jsonl.gz", "loaded")]

    # touched, same bytes: hashed once, found unchanged, its new mtime remembered
    hashed.clear()
    stat = old.stat()
    os.utime(old, ns=(stat.st_atime_ns, stat.st_mtime_ns - 5_000_000_000))
    assert [f.status for f in loader.load_landing(warehouse_db, landing_dir).files] == ["skipped", "skipped"]
    assert hashed == ["events_2026-06-01.jsonl.gz"]
    hashed.clear()
    loader.load_landing(warehouse_db, landing_dir)
    assert hashed == []
    assert scalar(warehouse_db, "select count(*) from raw.events") == 2


def test_a_file_registered_before_the_stamp_existed_is_hashed_once(warehouse_db, landing_dir, monkeypatch):
    write_lines(landing_dir / "events_2026-06-01.jsonl.gz", [json.dumps(event(1)).encode()])
    loader.load_landing(warehouse_db, landing_dir)
    with psycopg.connect(warehouse_db) as conn:  # as migration 0019 leaves files loaded before it
        conn.execute("update raw.load_files set file_mtime_ns = null")
    hashed = _hashes(monkeypatch)
    loader.load_landing(warehouse_db, landing_dir)
    loader.load_landing(warehouse_db, landing_dir)
    assert hashed == ["events_2026-06-01.jsonl.gz"]
    assert scalar(warehouse_db, "select count(*) from raw.load_files where file_mtime_ns is null") == 0


def test_same_size_and_mtime_hides_a_rewrite_unless_content_is_verified(warehouse_db, landing_dir):
    path = landing_dir / "events_2026-06-01.jsonl"
    path.write_bytes(json.dumps(event(1)).encode() + b"\n")
    loader.load_landing(warehouse_db, landing_dir)
    stat = path.stat()
    # rewritten in place to bytes of the same length, its mtime put back (what the quick check cannot see)
    path.write_bytes(json.dumps(event(7)).encode() + b"\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size

    assert [f.status for f in loader.load_landing(warehouse_db, landing_dir).files] == ["skipped"]
    with pytest.raises(loader.LoadError, match="different content"):
        loader.load_landing(warehouse_db, landing_dir, verify_content=True)


def test_a_quarantined_file_restored_with_its_old_mtime_is_resolved(warehouse_db, landing_dir):
    path = write_lines(landing_dir / "events_2026-06-01.jsonl.gz", [json.dumps(event(1)).encode()])
    original, stat = path.read_bytes(), path.stat()
    loader.load_landing(warehouse_db, landing_dir)
    write_lines(path, [json.dumps(event(1)).encode(), json.dumps(event(2)).encode()])
    loader.load_landing(warehouse_db, landing_dir, fail_on_error=False)
    assert scalar(warehouse_db, "select status from raw.quarantined_files") == "quarantined"

    path.write_bytes(original)  # the operator restores the loaded copy, e.g. `cp -p`
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    report = loader.load_landing(warehouse_db, landing_dir)

    assert [f.status for f in report.files] == ["skipped"]
    assert scalar(warehouse_db, "select resolution from raw.quarantined_files") == "restored"
    assert scalar(warehouse_db, "select count(*) from raw.events") == 1


def _loaded_and_rejected(conninfo: str) -> tuple[list[int], dict[int, str]]:
    """The line numbers stored in raw.events, and the rejected lines' reasons by line number."""
    with psycopg.connect(conninfo) as conn:
        loaded = [r[0] for r in conn.execute("select line_no from raw.events order by line_no")]
        rejected = dict(conn.execute("select line_no, reason from raw.rejected_lines").fetchall())
    return loaded, rejected


def test_a_raw_nul_byte_rejects_its_line_not_the_file(warehouse_db, landing_dir):
    # a NUL byte, not the \u0000 escape: JSON forbids raw control characters in strings
    lines = [json.dumps(event(i)).encode() for i in range(5)]
    lines[2] = json.dumps(event(2, properties={"note": "aXb"})).encode().replace(b"X", b"\x00")
    write_lines(landing_dir / "a.jsonl.gz", lines)
    write_lines(landing_dir / "b.jsonl.gz", [json.dumps(event(9)).encode()])

    report = loader.load_landing(warehouse_db, landing_dir)

    assert [(f.file_name, f.status, f.lines_loaded, f.lines_rejected) for f in report.files] == [
        ("a.jsonl.gz", "loaded", 4, 1), ("b.jsonl.gz", "loaded", 1, 0)]
    with psycopg.connect(warehouse_db) as conn:
        rows = conn.execute("select line_no, reason, raw_line from raw.rejected_lines").fetchall()
    assert len(rows) == 1 and rows[0][0] == 3 and rows[0][1].startswith("invalid JSON: Invalid control character")
    assert "\x00" not in rows[0][2] and '"note": "ab"' in rows[0][2]


def test_a_line_nested_deeper_than_jsonb_allows_is_rejected_and_the_rest_loads(warehouse_db, landing_dir):
    deep = 20_000  # PostgreSQL's jsonb input runs out of stack (max_stack_depth 2MB) near 17,000 levels
    valid_but_deep = (b'{"message_id": "deep", "type": "track", "event": "x", "user_id": "u",'
                      b' "timestamp": "2026-06-01T10:00:00Z", "properties": {"p": ' + b"[" * deep + b"]" * deep + b"}}")
    broken_and_deep = b'{"message_id": "b", "type": "track", "properties": ' + b"[" * 1000  # no closing
    lines = [json.dumps(event(i)).encode() for i in range(6)]
    lines[1], lines[4] = valid_but_deep, broken_and_deep
    write_lines(landing_dir / "a.jsonl.gz", lines)

    report = loader.load_landing(warehouse_db, landing_dir)

    assert [(f.status, f.lines_read, f.lines_loaded, f.lines_rejected) for f in report.files] == [
        ("loaded", 6, 4, 2)]
    loaded, rejected = _loaded_and_rejected(warehouse_db)
    assert loaded == [1, 3, 4, 6]
    assert sorted(rejected) == [2, 5]
    assert all(reason.startswith("invalid JSON") for reason in rejected.values())
    assert "nested too deeply" in rejected[2]


@pytest.mark.timeout(300)
def test_hundreds_of_lines_jsonb_refuses_do_not_stall_the_load(warehouse_db, landing_dir):
    # shaped like {…} (so they go to COPY) but NaN is not JSON: COPY skips each; the loader used to ask for a
    # notice per skipped row and stalled once the server's notices filled the socket
    lines = []
    for i in range(800):
        lines.append(json.dumps(event(i)).encode())
        lines.append(b'{"message_id": "bad%d", "properties": {"text": "%s", "score": NaN}}' % (i, b"x" * 1000))
    write_lines(landing_dir / "a.jsonl.gz", lines)

    report = loader.load_landing(warehouse_db, landing_dir)

    assert [(f.lines_read, f.lines_loaded, f.lines_rejected) for f in report.files] == [(1600, 800, 800)]
    loaded, rejected = _loaded_and_rejected(warehouse_db)
    assert loaded == list(range(1, 1601, 2))
    assert sorted(rejected) == list(range(2, 1601, 2))
    assert all("NaN is not a JSON value" in reason for reason in rejected.values())
