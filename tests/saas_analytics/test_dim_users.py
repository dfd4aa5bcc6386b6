"""`core.dim_users` after daily runs equals what one run over the same files gives (first platform, traits)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from pipeline_helpers import run_pipeline


def _land(landing: Path, name: str, lines: list[dict]) -> None:
    (landing / name).write_text("".join(json.dumps(line) + "\n" for line in lines))


def _page(mid: str, ts: str, platform: str | None = None) -> dict:
    return {"messageId": mid, "type": "page", "timestamp": ts, "userId": "u1",
            **({"context": {"platform": platform}} if platform else {})}


def _identify(mid: str, ts: str, **traits: str) -> dict:
    return {"messageId": mid, "type": "identify", "timestamp": ts, "userId": "u1", "traits": traits}


def _user(conninfo: str) -> tuple:
    with psycopg.connect(conninfo) as conn:
        return conn.execute("select first_platform, company, country, email_domain from core.dim_users"
                            " where user_id = 'u1'").fetchone()


@pytest.mark.parametrize("runs", [1, 2])
def test_the_first_platform_is_the_earliest_event_with_one_even_when_it_arrives_late(
        warehouse_db: str, landing_dir: Path, runs: int) -> None:
    # u1: 01-01 no platform, 01-05 web; then (late, or in the same run) 01-03 ios: ios is the earliest platform
    _land(landing_dir, "f1.jsonl", [_page("p1", "2024-01-01T10:00:00Z"), _page("p2", "2024-01-05T10:00:00Z", "web")])
    if runs == 2:
        run_pipeline(warehouse_db, landing_dir, run_id="r1")
    _land(landing_dir, "f2.jsonl", [_page("p3", "2024-01-03T10:00:00Z", "ios")])
    run_pipeline(warehouse_db, landing_dir, run_id="r2")
    assert _user(warehouse_db)[0] == "ios"
    # a later event with another platform changes nothing
    _land(landing_dir, "f3.jsonl", [_page("p4", "2024-01-04T10:00:00Z", "android")])
    run_pipeline(warehouse_db, landing_dir, run_id="r3")
    assert _user(warehouse_db)[0] == "ios"


@pytest.mark.parametrize(("first", "second"), [("i1", "i2"), ("i2", "i1"), (None, None)])
def test_the_latest_identify_gives_all_three_traits(warehouse_db: str, landing_dir: Path,
                                                    first: str | None, second: str | None) -> None:
    calls = {"i1": _identify("i1", "2024-01-01T10:00:00Z", company="Acme", email="ana@acme.io"),
             "i2": _identify("i2", "2024-01-02T10:00:00Z", country="US")}
    if first:  # two runs, in either order
        _land(landing_dir, "a.jsonl", [calls[first]])
        run_pipeline(warehouse_db, landing_dir, run_id="r1")
        _land(landing_dir, "b.jsonl", [calls[second]])
    else:  # one run over both
        _land(landing_dir, "a.jsonl", list(calls.values()))
    run_pipeline(warehouse_db, landing_dir, run_id="r2")
    # i2 (01-02) is the latest identify: country US, and no company or email domain (i2 carries none)
    assert _user(warehouse_db)[1:] == (None, "US", None)
