"""`bench_history --big-day`: the grown day file and its table (the timing itself is a benchmark, not a test)."""

from __future__ import annotations

import gzip
import json
import logging
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from saas_analytics.bench_history import CoreStepTimes, big_day_file, print_big_day
from saas_analytics.simulator import SimulationConfig, simulate


@pytest.fixture(scope="module")
def day_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The third day of a small Segment-format simulation (late events, duplicates and malformed lines included)."""
    folder = tmp_path_factory.mktemp("sim")
    simulate(SimulationConfig(start=date(2026, 3, 1), days=3, users=300, seed=3, malformed_rate=0.01), folder)
    return folder / "date=2026-03-03" / "events.jsonl.gz"


def read_lines(path: Path) -> list[str]:
    """The non-empty lines of a gzip file."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [line.rstrip("\n") for line in fh if line.strip()]


def json_lines(lines: list[str]) -> list[str]:
    """The lines that are JSON text."""
    out = []
    for line in lines:
        try:
            json.loads(line)
        except json.JSONDecodeError:
            continue
        out.append(line)
    return out


def test_the_grown_day_keeps_the_day_once_and_adds_whole_sessions_with_fresh_ids(day_file: Path, tmp_path: Path):
    source = read_lines(day_file)
    kept = json_lines(source)
    assert len(kept) < len(source)  # the simulation wrote lines that are not JSON: they are left out
    target = tmp_path / "date=2026-03-04" / "events.jsonl.gz"
    assert big_day_file(day_file, target, 6 * len(source)) == 6 * len(source)
    grown = read_lines(target)
    assert len(grown) == 6 * len(source)
    assert grown[:len(kept)] == kept  # the day itself, verbatim, once
    records = [json.loads(line) for line in grown]  # every line is JSON text (the bare COPY takes them)
    copies = records[len(kept):]
    objects = [r for r in map(json.loads, kept) if isinstance(r, dict)]
    sessions = [r for r in objects if isinstance(r.get("properties"), dict) and "session_id" in r["properties"]]
    templates = {r["messageId"]: r for r in sessions}
    for record in copies:
        original, _, copy = record["messageId"].rpartition("-x")
        template = templates[original]
        assert int(copy) >= 1
        assert record["properties"]["session_id"] == f"{template['properties']['session_id']}-x{copy}"
        assert {k: v for k, v in record.items() if k not in ("messageId", "properties")} == \
            {k: v for k, v in template.items() if k not in ("messageId", "properties")}  # same user, same time
    # the copies' ids are new: none repeats an id of the day; one repeats another copy's only where the
    # simulated day itself sent that message twice (a retry, which staging deduplicates)
    ids = Counter(r["messageId"] for r in copies)
    sent = Counter(r["messageId"] for r in sessions)
    assert all(n <= sent[mid.rpartition("-x")[0]] for mid, n in ids.items())
    assert not set(ids) & {r.get("messageId") for r in objects}
    assert not any(r.get("event") in ("signed_up", "payment_succeeded") for r in copies)


def test_a_day_smaller_than_its_source_and_a_source_without_sessions(day_file: Path, tmp_path: Path):
    assert big_day_file(day_file, tmp_path / "small.jsonl.gz", 10) == 10
    assert read_lines(tmp_path / "small.jsonl.gz") == json_lines(read_lines(day_file))[:10]
    empty = tmp_path / "identify.jsonl.gz"
    with gzip.open(empty, "wt") as fh:
        fh.write('{"messageId": "m1", "type": "identify", "userId": "u1"}\n')
    with pytest.raises(ValueError, match="no engagement events"):
        big_day_file(empty, tmp_path / "out.jsonl.gz", 100)


def test_the_table_adds_up_to_refreshed_analytics_and_divides_by_the_median_copy(capsys: pytest.CaptureFixture):
    stages = {"load": 2.0, "staging": 3.0, "core": 4.0, "data checks (raw, staging, core)": 1.0,
              "refresh analytics": 2.0, "data checks (analytics)": 0.5}
    print_big_day("cmd", stages, [3.0, 2.0, 9.0], 1_000, 2_000_000)
    out = capsys.readouterr().out
    # total through the refresh: 2 + 3 + 4 + 1 + 2 = 12 s; median bare COPY 3 s → 4.0×
    assert "| **landing → refreshed analytics** | **12.00 s** | 83 | **4.0×** (goal ≤ 6×) |" in out
    assert "| staging | 3.00 s | 333 | 1.0× |" in out
    assert "| (after the refresh) data checks (analytics) | 0.50 s |" in out


def test_core_steps_are_read_from_the_transform_log_and_ranked_under_the_big_day(capsys: pytest.CaptureFixture):
    steps = CoreStepTimes()
    logger = logging.getLogger("saas_analytics.transform")
    logger.addHandler(steps)
    logger.setLevel(logging.INFO)
    try:
        for line in ("core.fact_events: 991,099 rows in 12.50s", "core.fact_sessions: 889 rows in 3.00s",
                     "core.identity: 45 rows in 1.00s", "staging.events: 10 rows in 9.00s", "unrelated"):
            logger.info(line)
    finally:
        logger.removeHandler(steps)
        logger.setLevel(logging.NOTSET)
    assert steps.seconds == {"fact_events": 12.5, "fact_sessions": 3.0, "identity": 1.0}

    stages = {"load": 2.0, "staging": 3.0, "core": 20.0, "refresh analytics": 1.0}
    print_big_day("cmd", stages, [3.0], 1_000, 2_000_000, steps.seconds)
    out = capsys.readouterr().out
    # ranked by seconds; shares of the stage's 20 s; the 3.5 s not in any step is the commit's
    assert "| fact_events | 12.50 s | 62% |\n| fact_sessions | 3.00 s | 15% |\n| identity | 1.00 s | 5% |" in out
    assert "| commit (the deferred foreign-key checks) and the stage's bookkeeping | 3.50 s | 18% |" in out
    assert "other steps" not in out
