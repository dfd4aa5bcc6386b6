"""Hand-computed checks of the pandas reference metrics (tests/reference_metrics.py)."""

from __future__ import annotations

import gzip
import json
import math
import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from reference_metrics import (
    ADOPTION_COLUMNS,
    DAU_COLUMNS,
    EVENT_COLUMNS,
    MRR_COLUMNS,
    RETENTION_COLUMNS,
    daily_active_users,
    feature_adoption,
    month_end_mrr_cents,
    mrr_monthly,
    read_landing,
    retention_cohorts,
)

Line = dict[str, Any] | str | bytes


def write_landing(directory: Path, name: str, lines: list[Line]) -> Path:
    """Write one landing file (gzipped if the name ends in .gz); dicts become JSON, str/bytes go as is."""
    raw = [
        line if isinstance(line, bytes) else (json.dumps(line) if isinstance(line, dict) else line).encode()
        for line in lines
    ]
    data = b"".join(line + b"\n" for line in raw)
    path = directory / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def track(message_id: str, user_id: str, timestamp: str, event: str, **properties: Any) -> dict[str, Any]:
    """A track event line."""
    line: dict[str, Any] = {
        "message_id": message_id,
        "type": "track",
        "event": event,
        "user_id": user_id,
        "timestamp": timestamp,
    }
    if properties:
        line["properties"] = properties
    return line


def identify(message_id: str, user_id: str, timestamp: str, **extra: Any) -> dict[str, Any]:
    """An identify event line."""
    return {
        "message_id": message_id,
        "type": "identify",
        "user_id": user_id,
        "timestamp": timestamp,
        "traits": {"plan": "free"},
        **extra,
    }


def without(line: dict[str, Any], key: str) -> dict[str, Any]:
    """A copy of an event line without one key."""
    return {k: v for k, v in line.items() if k != key}


def with_(line: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of an event line with some keys replaced."""
    return {**line, **changes}


def page(message_id: str, user_id: str, day: str) -> dict[str, Any]:
    """A page_viewed track event at noon UTC of a day."""
    return track(message_id, user_id, f"{day}T12:00:00Z", "page_viewed")


def sub(message_id: str, user_id: str, timestamp: str, event: str, mrr_cents: Any) -> dict[str, Any]:
    """A subscription_* track event."""
    return track(message_id, user_id, timestamp, f"subscription_{event}", plan="pro", mrr_cents=mrr_cents)


def money(values: list[str]) -> list[Decimal]:
    """Decimals from strings, for literal expected amounts."""
    return [Decimal(value) for value in values]


# ---------------------------------------------------------------------------------------------------
# read_landing: validity, quarantine, dedupe, time zones
# ---------------------------------------------------------------------------------------------------

T = "2024-03-01T10:00:00Z"
OK_TRACK = track("t", "u1", T, "page_viewed")


def test_every_quarantine_reason_in_rule_order(tmp_path: Path) -> None:
    lines: list[tuple[Line, str | None]] = [
        (identify("ok-identify", "u1", "2024-02-29T12:00:00.123456+14:00"), None),
        ("{not json", "invalid_json"),
        (b'\xff\xfe{"message_id": "x"}', "invalid_utf8"),  # not UTF-8
        ('{"message_id": "x", "type": "track", "mrr": NaN}', "invalid_json"),  # NaN is not JSON
        ('{"message_id": "x", "type": "track", "mrr": -Infinity}', "invalid_json"),
        ('{"message_id": "x", "type": "track", "bad": "\\ud800"}', "invalid_json"),  # lone surrogate: not jsonb
        ('{"message_id": "x"} {"again": 1}', "invalid_json"),  # trailing garbage
        ("[1, 2]", "not_an_object"),
        ('"text"', "not_an_object"),
        ("null", "not_an_object"),
        (without(OK_TRACK, "message_id"), "missing_message_id"),
        (with_(OK_TRACK, message_id=""), "missing_message_id"),
        (with_(OK_TRACK, message_id=17), "missing_message_id"),
        (without(OK_TRACK, "type"), "missing_type"),
        (with_(OK_TRACK, type=None), "missing_type"),
        (with_(OK_TRACK, type="pageview"), "unknown_type"),
        (with_(OK_TRACK, type="Track"), "unknown_type"),
        (with_(OK_TRACK, type=1), "unknown_type"),
        (without(OK_TRACK, "user_id"), "missing_user_id"),
        (with_(OK_TRACK, user_id=""), "missing_user_id"),
        (with_(OK_TRACK, user_id=42), "missing_user_id"),
        (without(OK_TRACK, "timestamp"), "missing_timestamp"),
        (with_(OK_TRACK, timestamp=None), "missing_timestamp"),
        (with_(OK_TRACK, timestamp="2024-02-30T10:00:00Z"), "invalid_timestamp"),  # no Feb 30
        (with_(OK_TRACK, timestamp="2023-02-29T10:00:00Z"), "invalid_timestamp"),  # 2023 not a leap year
        (with_(OK_TRACK, timestamp="2024-03-01 10:00:00Z"), "invalid_timestamp"),
        (with_(OK_TRACK, timestamp="2024-03-01T10:00:00"), "invalid_timestamp"),  # no offset
        (with_(OK_TRACK, timestamp="2024-03-01T24:00:00Z"), "invalid_timestamp"),
        (with_(OK_TRACK, timestamp="2024-03-01T10:00:00.1234567Z"), "invalid_timestamp"),
        (with_(OK_TRACK, timestamp="2024-03-01T10:00:00+15:00"), "invalid_timestamp"),
        (with_(OK_TRACK, timestamp="2024-03-01T10:00:00Z\n"), "invalid_timestamp"),
        (with_(OK_TRACK, timestamp="\u0662\u0660\u0662\u0664-03-01T10:00:00Z"), "invalid_timestamp"),
        (with_(OK_TRACK, timestamp=1709287200), "invalid_timestamp"),
        (without(OK_TRACK, "event"), "missing_event"),
        (with_(OK_TRACK, event=""), "missing_event"),
        (with_(OK_TRACK, event=5), "missing_event"),
        (without(sub("x", "u1", T, "started", 1), "properties"), "invalid_mrr_cents"),
        (sub("x", "u1", T, "started", -1), "invalid_mrr_cents"),
        (sub("x", "u1", T, "changed", 1000.0), "invalid_mrr_cents"),
        (sub("x", "u1", T, "changed", "1000"), "invalid_mrr_cents"),
        (sub("x", "u1", T, "changed", True), "invalid_mrr_cents"),
        (sub("x", "u1", T, "changed", 10**15), "invalid_mrr_cents"),  # 16 digits
        (json.dumps(sub("x", "u1", T, "changed", 0)).replace('"mrr_cents": 0', '"mrr_cents": 1e15'),
         "invalid_mrr_cents"),  # 1e15 is 16 digits as an integer
        (sub("x", "u1", T, "cancelled", None), "invalid_mrr_cents"),
        (with_(sub("x", "u1", T, "cancelled", 0), properties="0"), "invalid_mrr_cents"),
        (track("x", "u1", T, "feature_used"), "missing_feature"),
        (track("x", "u1", T, "feature_used", feature=""), "missing_feature"),
        (track("x", "u1", T, "feature_used", feature=3), "missing_feature"),
        # rule 15: an indexed id or key over 1,000 bytes of UTF-8 (the valid lines below carry 1,000 exactly)
        (with_(OK_TRACK, message_id="m" * 1001), "id_too_long"),
        (with_(OK_TRACK, userId="\U0001f600" * 251), "id_too_long"),  # 251 characters, 1,004 bytes
        (with_(OK_TRACK, user_id=None, anonymous_id="a" * 1001), "id_too_long"),
        (with_(OK_TRACK, type="alias", previousId="p" * 1001), "id_too_long"),
        (with_(OK_TRACK, type="group", group_id="\u00e9" * 501), "id_too_long"),  # 1,002 bytes
        (track("x", "u1", T, "feature_used", feature="f" * 1001), "id_too_long"),
        (sub("x", "u1", T, "started", 1) | {"properties": {"plan": "p" * 1001, "mrr_cents": 1}}, "id_too_long"),
        (track("x", "u1", T, "page_viewed", document_id="d" * 1001), "id_too_long"),
        (track("x", "u1", T, "page_viewed", document_id=int("9" * 1001)), "id_too_long"),  # a number, as text
        (track("x", "u1", T, "page_viewed", document_id=["d" * 997]), "id_too_long"),  # ["d…"] is 1,001 bytes
        (with_(OK_TRACK, context={"platform": "w" * 1001}), "id_too_long"),
        (track("x", "u1", T, "signed_up", channel="c" * 1001), "id_too_long"),
        (with_(track("x", "u1", T, "signed_up"), context={"campaign": {"source": "s" * 1001}}), "id_too_long"),
        # several faults: the first rule in order names the reason
        (with_(OK_TRACK, user_id="u" * 1001, timestamp="bad"), "invalid_timestamp"),
        (track("x", "u" * 1001, T, "feature_used"), "missing_feature"),
        (with_(without(OK_TRACK, "user_id"), timestamp="bad"), "missing_user_id"),
        (with_(without(OK_TRACK, "user_id"), type="page_view"), "unknown_type"),
        (with_(OK_TRACK, type="alias"), "incomplete_alias"),  # alias needs previousId
        (with_(OK_TRACK, type="alias", user_id=None, anonymous_id="a", previousId="p"), "incomplete_alias"),
        (with_(OK_TRACK, type="group", groupId=""), "missing_group_id"),
        (with_(OK_TRACK, user_id=None, userId=None), "missing_user_id"),
        (with_(track("x", "u1", "bad", "feature_used"), message_id=""), "missing_message_id"),
        # valid lines
        (identify("ok-identify-event", "u1", T, event=""), None),  # event is only checked on track
        (sub("ok-cancel", "u1", T, "cancelled", 0), None),
        (sub("ok-max-mrr", "u1", T, "changed", 10**15 - 1), None),  # 15 digits
        ('{"message_id": "ok-exp-mrr", "type": "track", "event": "subscription_started", "user_id": "u1", '
         '"timestamp": "2024-03-01T10:00:00Z", "properties": {"plan": "pro", "mrr_cents": 1.5e2}}', None),  # 150
        (track("ok-feature", "u1", T, "feature_used", feature="export"), None),
        (track("ok-unicode", "u\u00e9", "2024-03-01T10:00:00.5-03:30", "page_viewed"), None),
        (with_(OK_TRACK, message_id="ok-anon", user_id=None, anonymousId="a"), None),  # an anonymous id suffices
        (with_(OK_TRACK, message_id="ok-alias", type="alias", previous_id="p"), None),
        (with_(OK_TRACK, message_id="ok-group", type="group", group_id="acme"), None),
        (with_(OK_TRACK, message_id="ok-page", type="page", event=""), None),  # event is only checked on track
        # ids and keys of 1,000 bytes exactly; long members the warehouse does not index on that call
        (with_(track("ok-long-" + "k" * 992, "\U0001f600" * 250, T, "feature_used", feature="f" * 1000),
               anonymousId="\u00e9" * 500, context={"platform": "w" * 1000}), None),
        (with_(OK_TRACK, message_id="ok-long-ids", type="alias", previousId="p" * 1000, groupId="g" * 1001), None),
        (with_(OK_TRACK, message_id="ok-long-group", type="group", groupId="g" * 1000, previousId="p" * 1001), None),
        (track("ok-long-keys", "u1", T, "page_viewed", feature="f" * 1001, plan="p" * 1001, channel="c" * 1001,
               document_id="d" * 1000, session_id="s" * 5000), None),
    ]
    write_landing(tmp_path, "2024-03-01.jsonl", [line for line, _ in lines])

    result = read_landing(tmp_path)

    expected = [("2024-03-01.jsonl", n, reason) for n, (_, reason) in enumerate(lines, start=1) if reason]
    assert list(result.quarantined.itertuples(index=False, name=None)) == expected
    assert list(result.quarantined.columns) == ["file", "line", "reason"]
    assert result.events["message_id"].tolist() == [
        "ok-identify",
        "ok-identify-event",
        "ok-cancel",
        "ok-max-mrr",
        "ok-exp-mrr",
        "ok-feature",
        "ok-unicode",
        "ok-anon",
        "ok-alias",
        "ok-group",
        "ok-page",
        "ok-long-" + "k" * 992,
        "ok-long-ids",
        "ok-long-group",
        "ok-long-keys",
    ]
    assert result.events["event"].tolist()[-8:-4] == ["page_viewed", None, None, "page_viewed"]
    assert result.events["user_id"].tolist()[-8:-4] == [None, "u1", "u1", "u1"]  # "a" is no user id: nobody
    assert result.events["sent_user_id"].tolist()[-4] == "\U0001f600" * 250
    assert result.events["properties"].tolist()[4]["mrr_cents"] == 150  # 1.5e2 is an integer amount
    assert result.duplicates == 0
    assert result.lines == len(lines) == len(result.events) + len(result.quarantined)


def test_gzip_and_plain_files_crlf_and_missing_final_newline(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(json.dumps(OK_TRACK).encode() + b"\r\n" + b"{oops")  # no final LF
    write_landing(tmp_path, "b.jsonl.gz", [with_(OK_TRACK, message_id="t2"), "[]"])
    (tmp_path / "c.json").write_text(json.dumps(with_(OK_TRACK, message_id="t3")))  # .json is a landing file
    (tmp_path / "d.jsonl").write_bytes(b"")  # empty file: no lines
    (tmp_path / "e.txt").write_text(json.dumps(with_(OK_TRACK, message_id="ignored")))  # not a landing file

    result = read_landing(tmp_path)

    assert result.events["message_id"].tolist() == ["t", "t2", "t3"]
    assert list(result.quarantined.itertuples(index=False, name=None)) == [
        ("a.jsonl", 2, "invalid_json"),
        ("b.jsonl.gz", 2, "not_an_object"),
    ]
    assert result.lines == 5


def test_bom_blank_lines_and_nul_escapes(tmp_path: Path) -> None:
    body = [
        json.dumps(with_(OK_TRACK, message_id="m1")).encode(),
        b"",
        b"   \t",
        json.dumps(with_(OK_TRACK, message_id="m2", properties={"q": "a\u0000b"})).encode(),  # NUL escape
        b"\xc3\x28 not utf-8",
        json.dumps(with_(OK_TRACK, message_id="m3")).encode(),
    ]
    (tmp_path / "a.jsonl").write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(body) + b"\r\n")

    result = read_landing(tmp_path)

    # by hand: 6 physical lines, 2 blank (not counted), m1 keeps its line despite the BOM
    assert result.events["message_id"].tolist() == ["m1", "m2", "m3"]
    assert result.events["properties"].tolist()[1] == {"q": "a\ufffdb"}
    assert list(result.quarantined.itertuples(index=False, name=None)) == [("a.jsonl", 5, "invalid_utf8")]
    assert result.lines == 4


def test_nested_folders_relative_paths_and_ignored_names(tmp_path: Path) -> None:
    write_landing_at = lambda rel, lines: (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True) or write_landing(  # noqa: E731
        (tmp_path / rel).parent, Path(rel).name, lines)
    write_landing_at("date=2024-01-02/part-0.jsonl.gz", [with_(OK_TRACK, message_id="b")])
    write_landing_at("date=2024-01-01/part-0.jsonl.gz", [with_(OK_TRACK, message_id="a"), "[]"])
    write_landing_at("logs/src/1700000000/x.gz", [with_(OK_TRACK, message_id="c")])
    write_landing_at("logs/src/1700000000/y.ndjson", [with_(OK_TRACK, message_id="d")])
    write_landing_at("date=2024-01-01/_SUCCESS", ["[]"])
    write_landing_at("date=2024-01-01/.part-1.jsonl", ["[]"])
    write_landing_at("_temporary/part-9.jsonl", ["[]"])

    result = read_landing(tmp_path)

    assert result.events["message_id"].tolist() == ["a", "b", "c", "d"]
    assert list(result.quarantined.itertuples(index=False, name=None)) == [
        ("date=2024-01-01/part-0.jsonl.gz", 2, "not_an_object")]


def test_camel_case_wins_and_page_screen_names(tmp_path: Path) -> None:
    write_landing(tmp_path, "a.jsonl", [
        {"messageId": "m1", "message_id": "other", "type": "screen", "userId": "camel", "user_id": "snake",
         "timestamp": T, "name": "Home"},
        {"messageId": None, "message_id": "m2", "type": "page", "userId": None, "user_id": "snake", "timestamp": T},
    ])

    events = read_landing(tmp_path).events

    assert events[["message_id", "type", "event", "user_id"]].values.tolist() == [
        ["m1", "screen", "screen_viewed", "camel"], ["m2", "page", "page_viewed", "snake"]]


# ---------------------------------------------------------------------------------------------------
# identity
# ---------------------------------------------------------------------------------------------------


def seg(kind: str, mid: str, ts: str, user: str | None = None, anon: str | None = None, **extra: Any) -> dict:
    """A camelCase Segment call."""
    line = {"messageId": mid, "type": kind, "timestamp": ts, **extra}
    if user:
        line["userId"] = user
    if anon:
        line["anonymousId"] = anon
    return line


def test_identity_by_hand(tmp_path: Path) -> None:
    write_landing(tmp_path, "1.jsonl", [
        seg("page", "p1", "2024-01-01T10:00:00Z", anon="d1"),  # linked later by i1
        seg("alias", "al1", "2024-01-01T11:00:00Z", user="b", previousId="a"),  # a -> b
        seg("alias", "al2", "2024-01-01T12:00:00Z", user="c", previousId="b"),  # b -> c: chain a -> b -> c
        seg("alias", "al3", "2024-01-01T13:00:00Z", user="a", previousId="c"),  # c -> a: resolve(a) = c, a cycle
        seg("identify", "i2", "2024-01-01T09:00:00Z", user="u2", anon="d1"),  # earlier than i1: d1 -> u2 wins
        seg("page", "g1", "2024-01-01T10:00:00Z", anon="ghost"),
        seg("page", "self", "2024-01-01T10:00:00Z", user="s", anon="s"),  # a self-link is a cycle
        seg("track", "a1", "2024-01-01T10:00:00Z", user="a", event="signed_up"),
    ])
    write_landing(tmp_path, "2.jsonl", [
        seg("identify", "i1", "2024-01-02T09:00:00Z", user="u1", anon="d1"),  # later link of d1: ignored
        seg("alias", "al4", "2024-01-02T09:00:00Z", user="u1", previousId="d1"),  # d1 already linked: ignored
    ])

    result = read_landing(tmp_path)

    assert result.links == {"d1": "u2", "a": "b", "b": "c"}
    persons = dict(zip(result.events["message_id"], result.events["user_id"], strict=True))
    assert persons == {"p1": "u2", "al1": "c", "al2": "c", "al3": "c", "i2": "u2", "g1": None, "self": "s",
                       "a1": "c", "i1": "u1", "al4": "u1"}
    dau = daily_active_users(result.events)  # Jan 1: u2 (p1), s; ghost is nobody; a1 counts for c
    assert dau["dau"].tolist() == [3]


def test_anonymous_id_used_as_a_user_id_somewhere_names_that_person(tmp_path: Path) -> None:
    write_landing(tmp_path, "1.jsonl", [
        seg("page", "p1", "2024-01-01T10:00:00Z", anon="kim"),
        seg("page", "p2", "2024-01-05T10:00:00Z", user="kim"),
        seg("page", "p3", "2024-01-05T10:00:00Z", anon="nobody-ever"),
    ])

    events = read_landing(tmp_path).events

    assert events["user_id"].tolist() == ["kim", "kim", None]


def test_duplicates_first_valid_copy_wins_even_across_files(tmp_path: Path) -> None:
    # written first but loaded second: load order is by file name
    write_landing(
        tmp_path,
        "2024-01-02.jsonl.gz",
        [
            page("m1", "late-copy", "2024-01-02"),  # duplicate of m1 from the earlier file
            page("m3", "u3", "2024-01-02"),
            page("m3", "u3-copy", "2024-01-02"),  # duplicate within the file
        ],
    )
    write_landing(
        tmp_path,
        "2024-01-01.jsonl",
        [
            page("m1", "first", "2024-01-01"),
            without(page("m2", "u2", "2024-01-01"), "user_id"),  # quarantined: does not claim m2
            page("m2", "u2", "2024-01-01"),
            page("m1", "second", "2024-01-01"),
        ],
    )

    result = read_landing(tmp_path)

    events = result.events
    assert events["message_id"].tolist() == ["m1", "m2", "m3"]
    assert events["user_id"].tolist() == ["first", "u2", "u3"]
    assert events["load_order"].tolist() == [0, 2, 5]
    assert result.duplicates == 3
    assert list(result.quarantined.itertuples(index=False, name=None)) == [("2024-01-01.jsonl", 2, "missing_user_id")]
    assert result.lines == 7 == len(events) + len(result.quarantined) + result.duplicates
    assert list(events.columns) == EVENT_COLUMNS


def test_timestamps_are_utc_and_offsets_cross_midnight(tmp_path: Path) -> None:
    write_landing(
        tmp_path,
        "a.jsonl",
        [
            track("a", "ua", "2024-03-01T23:30:00-05:00", "page_viewed", path="/"),
            track("b", "ub", "2024-03-02T00:30:00+01:00", "page_viewed"),
            track("c", "uc", "2024-03-01T12:00:00.5Z", "page_viewed"),
            identify("d", "ud", "2024-12-31T20:00:00-04:00"),
        ],
    )

    events = read_landing(tmp_path).events

    assert events["date"].tolist() == [date(2024, 3, 2), date(2024, 3, 1), date(2024, 3, 1), date(2025, 1, 1)]
    assert events["ts"].tolist() == [
        pd.Timestamp("2024-03-02T04:30:00Z"),
        pd.Timestamp("2024-03-01T23:30:00Z"),
        pd.Timestamp("2024-03-01T12:00:00.500Z"),
        pd.Timestamp("2025-01-01T00:00:00Z"),
    ]
    assert str(events["ts"].dt.tz) == "UTC"
    assert events["type"].tolist() == ["track", "track", "track", "identify"]
    assert events["event"].tolist() == ["page_viewed", "page_viewed", "page_viewed", None]
    assert events["properties"].tolist() == [{"path": "/"}, {}, {}, {}]

    dau = daily_active_users(events)  # the identify event counts for nothing
    assert dau["activity_date"].tolist() == [date(2024, 3, 1), date(2024, 3, 2)]
    assert dau["dau"].tolist() == [2, 1]
    assert dau["wau"].tolist() == [2, 3]


# ---------------------------------------------------------------------------------------------------
# daily_active_users
# ---------------------------------------------------------------------------------------------------


def test_dau_quiet_days_carry_rolling_wau_and_mau(tmp_path: Path) -> None:
    write_landing(
        tmp_path,
        "a.jsonl",
        [
            page("a1", "A", "2024-01-01"),
            track("a2", "A", "2024-01-01T23:59:59Z", "feature_used", feature="x"),  # same day: counted once
            page("a3", "A", "2024-01-02"),
            page("b1", "B", "2024-01-01"),
            page("b2", "B", "2024-01-10"),
            identify("c1", "C", "2024-01-05T08:00:00Z"),  # identify only: never active
            identify("c2", "C", "2024-03-01T08:00:00Z"),  # and does not extend the range
            page("d1", "D", "2024-02-05"),
        ],
    )

    dau = daily_active_users(read_landing(tmp_path).events)

    # Jan 1 .. Feb 5 = 36 days. A: Jan 1, Jan 2; B: Jan 1, Jan 10; D: Feb 5.
    assert list(dau.columns) == DAU_COLUMNS
    assert dau["activity_date"].tolist() == [date(2024, 1, 1) + timedelta(days=i) for i in range(36)]
    assert dau["dau"].tolist() == [2, 1] + [0] * 7 + [1] + [0] * 25 + [1]
    # window 7: A until Jan 8, B until Jan 7 then Jan 10..16, D Feb 5
    assert dau["wau"].tolist() == [2, 2] + [2] * 5 + [1, 0] + [1] * 7 + [0] * 19 + [1]
    # window 30: A until Jan 31, B until Feb 8, D from Feb 5
    assert dau["mau"].tolist() == [2] * 31 + [1] * 4 + [2]
    assert dau["stickiness"].tolist() == [1.0, 0.5] + [0.0] * 7 + [0.5] + [0.0] * 25 + [0.5]


def test_dau_stickiness_is_nan_when_nobody_active_in_30_days(tmp_path: Path) -> None:
    write_landing(tmp_path, "a.jsonl", [page("1", "A", "2024-01-01"), page("2", "A", "2024-03-01")])

    dau = daily_active_users(read_landing(tmp_path).events)

    assert len(dau) == 61  # Jan 1 .. Mar 1, 2024 (leap year)
    assert dau["dau"].tolist() == [1] + [0] * 59 + [1]
    assert dau["wau"].tolist() == [1] * 7 + [0] * 53 + [1]
    assert dau["mau"].tolist() == [1] * 30 + [0] * 30 + [1]
    sticky = dau["stickiness"].tolist()
    assert sticky[0] == 1.0 and sticky[1:30] == [0.0] * 29 and sticky[60] == 1.0
    assert all(math.isnan(value) for value in sticky[30:60])


def test_dau_matches_brute_force_on_random_activity(tmp_path: Path) -> None:
    rng = random.Random(7)
    start = date(2024, 1, 1)
    activity = {(f"u{rng.randrange(12)}", start + timedelta(days=rng.randrange(90))) for _ in range(150)}
    write_landing(
        tmp_path, "a.jsonl", [page(f"m{i}", user, day.isoformat()) for i, (user, day) in enumerate(sorted(activity))]
    )

    dau = daily_active_users(read_landing(tmp_path).events)

    first, last = min(day for _, day in activity), max(day for _, day in activity)
    for row in dau.itertuples(index=False):

        def active_within(days: int, d: date = row.activity_date) -> int:
            return len({user for user, day in activity if d - timedelta(days=days - 1) <= day <= d})

        assert (row.dau, row.wau, row.mau) == (active_within(1), active_within(7), active_within(30))
    assert dau["activity_date"].tolist() == [first + timedelta(days=i) for i in range((last - first).days + 1)]


# ---------------------------------------------------------------------------------------------------
# retention_cohorts
# ---------------------------------------------------------------------------------------------------


def test_retention_cohorts_with_gap_month(tmp_path: Path) -> None:
    write_landing(
        tmp_path,
        "1.jsonl",
        [
            track("u1-s", "u1", "2024-01-15T10:00:00Z", "signed_up"),
            page("u1-mar", "u1", "2024-03-10"),  # Feb is a gap month for u1
            track("u2-s", "u2", "2024-01-20T10:00:00Z", "signed_up"),
            identify("u2-feb", "u2", "2024-02-10T10:00:00Z"),  # identify is not activity
            page("u2-apr", "u2", "2024-04-02"),
            page("u3-early", "u3", "2024-01-25"),  # before signup: not a retention offset
            track("u3-s", "u3", "2024-02-03T10:00:00Z", "signed_up"),
            page("u3-apr", "u3", "2024-04-20"),  # the latest activity: April
            track("u5-s2", "u5", "2024-03-05T10:00:00Z", "signed_up"),  # later signup, loaded first
            page("u4", "u4", "2024-01-05"),  # never signed up: in no cohort
            identify("u6", "u6", "2024-01-07T10:00:00Z", event="signed_up"),  # identify: not a signup
            without(track("u7-s", "u7", "2024-01-08T10:00:00Z", "signed_up"), "timestamp"),  # quarantined
            page("u7", "u7", "2024-01-09"),
        ],
    )
    write_landing(
        tmp_path,
        "2.jsonl",
        [
            track("u5-s1", "u5", "2024-03-01T02:00:00+05:00", "signed_up"),  # = Feb 29 21:00 UTC: Feb cohort
        ],
    )

    cohorts = retention_cohorts(read_landing(tmp_path).events)

    jan, feb = date(2024, 1, 1), date(2024, 2, 1)
    assert list(cohorts.columns) == RETENTION_COLUMNS
    assert list(cohorts.itertuples(index=False, name=None)) == [
        (jan, 0, 2, 2, 1.0),  # u1, u2
        (jan, 1, 2, 0, 0.0),  # Feb: nobody (u2's identify does not count)
        (jan, 2, 2, 1, 0.5),  # Mar: u1
        (jan, 3, 2, 1, 0.5),  # Apr: u2
        (feb, 0, 2, 2, 1.0),  # u3, u5
        (feb, 1, 2, 1, 0.5),  # Mar: u5 (its second signed_up is activity)
        (feb, 2, 2, 1, 0.5),  # Apr: u3
    ]


# ---------------------------------------------------------------------------------------------------
# feature_adoption
# ---------------------------------------------------------------------------------------------------


def test_feature_adoption_counts_and_denominator(tmp_path: Path) -> None:
    def used(message_id: str, user: str, feature: Any) -> dict[str, Any]:
        return track(message_id, user, T, "feature_used", feature=feature)

    write_landing(
        tmp_path,
        "a.jsonl",
        [
            used("1", "a", "export"),
            used("2", "a", "export"),
            used("3", "a", "export"),
            used("4", "a", "search"),
            used("5", "a", "search"),
            used("4", "a", "search"),  # duplicate: not a use
            used("6", "b", "export"),
            used("7", "c", "Export"),  # features are case-sensitive
            page("8", "d", "2024-03-01"),  # d counts in the denominator only
            used("9", "d", ""),  # quarantined
            identify("10", "e", T),  # identify only: not in the denominator
            used("11", "f", None),  # f has only quarantined lines: not in the denominator
            with_(page("12", "f", "2024-03-01"), timestamp="2024-03-01"),
        ],
    )

    adoption = feature_adoption(read_landing(tmp_path).events)

    # 4 users with a valid track event: a, b, c, d
    assert list(adoption.columns) == ADOPTION_COLUMNS
    assert list(adoption.itertuples(index=False, name=None)) == [
        ("Export", 1, 1, 0.25),
        ("export", 4, 2, 0.5),
        ("search", 2, 1, 0.25),
    ]


# ---------------------------------------------------------------------------------------------------
# mrr_monthly
# ---------------------------------------------------------------------------------------------------


def write_mrr_story(directory: Path) -> None:
    """Subscription history of the MRR tests (amounts in cents; see the expectations in the test)."""
    write_landing(
        directory,
        "a.jsonl",
        [
            sub("u5-cancel", "u5", "2023-12-20T00:00:00Z", "cancelled", 0),  # first subscription event: Dec
            sub("u1-up", "u1", "2024-02-05T09:00:00Z", "changed", 3000),  # loaded before its predecessor
            sub("u1-down", "u1", "2024-03-01T00:00:00Z", "changed", 2500),  # exactly at Mar start: March
            sub("u3-start", "u3", "2024-01-31T23:30:00-05:00", "started", 999),  # Feb 1 04:30 UTC
            sub("u3-tie-a", "u3", "2024-03-03T12:00:00Z", "changed", 1999),
            sub("u2-start", "u2", "2024-02-10T09:00:00Z", "started", 5000),  # subscribe and cancel in Feb
            sub("u2-cancel", "u2", "2024-02-20T09:00:00Z", "cancelled", 0),
            sub("u1-cancel", "u1", "2024-04-02T09:00:00Z", "cancelled", 0),
            sub("u4-bad", "u4", "2024-03-15T09:00:00Z", "started", 100.5),  # quarantined
        ],
    )
    write_landing(
        directory,
        "b.jsonl",
        [
            sub("u1-start", "u1", "2024-01-10T09:00:00Z", "started", 1000),
            sub("u3-tie-b", "u3", "2024-03-03T07:00:00-05:00", "changed", 1500),  # same instant, loaded later
            sub("u2-restart", "u2", "2024-04-15T09:00:00Z", "started", 4000),
            sub("u1-back", "u1", "2024-05-10T09:00:00Z", "started", 2000),
            page("u4-page", "u4", "2024-06-01"),  # latest track activity: June
            identify("u6-id", "u6", "2024-08-01T00:00:00Z"),  # identify does not extend the range
        ],
    )


def test_mrr_monthly_movements(tmp_path: Path) -> None:
    write_mrr_story(tmp_path)

    mrr = mrr_monthly(read_landing(tmp_path).events)

    # month-end MRR (cents)   Dec  Jan   Feb   Mar   Apr   May   Jun
    #   u1                      0  1000  3000  2500     0  2000  2000   new, expansion, contraction, churn, react.
    #   u2                      0     0     0     0  4000  4000  4000   Feb start+cancel never counts; Apr is new
    #   u3                      0     0   999  1500  1500  1500  1500   new in Feb, tie at Mar 3 -> 1500
    assert list(mrr.columns) == MRR_COLUMNS
    assert mrr["month"].tolist() == [date(2023, 12, 1)] + [date(2024, m, 1) for m in range(1, 7)]
    assert mrr["mrr"].tolist() == money(["0", "10", "39.99", "40", "55", "75", "75"])
    assert mrr["arr"].tolist() == money(["0", "120", "479.88", "480", "660", "900", "900"])
    assert mrr["customers"].tolist() == [0, 1, 2, 2, 2, 3, 3]
    assert mrr["new_mrr"].tolist() == money(["0", "10", "9.99", "0", "40", "0", "0"])
    assert mrr["expansion_mrr"].tolist() == money(["0", "0", "20", "5.01", "0", "0", "0"])
    assert mrr["contraction_mrr"].tolist() == money(["0", "0", "0", "5", "0", "0", "0"])
    assert mrr["churned_mrr"].tolist() == money(["0", "0", "0", "0", "25", "0", "0"])
    assert mrr["reactivation_mrr"].tolist() == money(["0", "0", "0", "0", "0", "20", "0"])
    assert all(isinstance(value, Decimal) for value in mrr["mrr"])
    assert str(mrr["mrr"].iloc[2]) == "39.99"


def test_mrr_same_month_subscribe_and_cancel_is_never_a_customer(tmp_path: Path) -> None:
    write_mrr_story(tmp_path)

    table = month_end_mrr_cents(read_landing(tmp_path).events)

    assert table.loc["u2"].tolist() == [0, 0, 0, 0, 4000, 4000, 4000]
    assert table.loc["u5"].tolist() == [0] * 7


def test_mrr_roll_forward_invariant(tmp_path: Path) -> None:
    write_mrr_story(tmp_path)

    mrr = mrr_monthly(read_landing(tmp_path).events)

    previous = Decimal(0)
    for row in mrr.itertuples(index=False):
        moved = row.new_mrr + row.reactivation_mrr + row.expansion_mrr - row.contraction_mrr - row.churned_mrr
        assert row.mrr - previous == moved
        assert row.arr == 12 * row.mrr
        previous = row.mrr


def test_mrr_matches_brute_force_on_random_subscriptions(tmp_path: Path) -> None:
    rng = random.Random(11)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    lines = []
    for i in range(400):
        when = start + timedelta(minutes=30 * rng.randrange(48 * 500))  # many equal timestamps
        offset = timezone(timedelta(hours=rng.choice([-5, 0, 9])))
        lines.append(
            sub(
                f"m{i}",
                f"u{rng.randrange(15)}",
                when.astimezone(offset).isoformat(),
                rng.choice(["started", "changed", "cancelled"]),
                rng.choice([0, 0, 500, 1000, 4999]),
            )
        )
    lines.append(page("last", "x", "2024-06-30"))
    for name in ("a.jsonl", "b.jsonl"):
        write_landing(tmp_path, name, lines[:200] if name == "a.jsonl" else lines[200:])
    events = read_landing(tmp_path).events

    table = month_end_mrr_cents(events)
    mrr = mrr_monthly(events)

    subs = events[events["event"].str.startswith("subscription_")]
    history: dict[str, list[tuple[pd.Timestamp, int, int]]] = {}
    for row in subs.itertuples(index=False):
        history.setdefault(row.user_id, []).append((row.ts, row.load_order, row.properties["mrr_cents"]))
    months = [date(2023, 1, 1) + pd.DateOffset(months=k) for k in range(18)]
    assert mrr["month"].tolist() == [m.date() for m in months]
    ever: dict[str, bool] = dict.fromkeys(history, False)
    previous = dict.fromkeys(history, 0)
    for k, month_start in enumerate(months):
        month_end = pd.Timestamp(month_start + pd.DateOffset(months=1), tz="UTC")
        now = {
            user: max([(ts, order, cents) for ts, order, cents in rows if ts < month_end], default=(None, 0, 0))[2]
            for user, rows in history.items()
        }
        assert [table.loc[user].iloc[k] for user in sorted(history)] == [now[user] for user in sorted(history)]
        new = sum(now[u] for u in now if previous[u] == 0 < now[u] and not ever[u])
        react = sum(now[u] for u in now if previous[u] == 0 < now[u] and ever[u])
        row = mrr.iloc[k]
        assert row["mrr"] == Decimal(sum(now.values())) / 100
        assert row["customers"] == sum(1 for value in now.values() if value > 0)
        assert (row["new_mrr"], row["reactivation_mrr"]) == (Decimal(new) / 100, Decimal(react) / 100)
        moved = row["new_mrr"] + row["reactivation_mrr"] + row["expansion_mrr"] - row["contraction_mrr"]
        assert row["mrr"] - Decimal(sum(previous.values())) / 100 == moved - row["churned_mrr"]
        ever = {u: ever[u] or now[u] > 0 for u in now}
        previous = now


def test_mrr_is_exact_for_huge_amounts(tmp_path: Path) -> None:
    # the largest amount rule 13 accepts (15 digits); 12 times the sum is beyond a float's 53 bits
    write_landing(tmp_path, "a.jsonl", [sub("1", "u1", T, "started", 10**15 - 1), sub("2", "u2", T, "started", 3)])

    mrr = mrr_monthly(read_landing(tmp_path).events)

    assert mrr["mrr"].tolist() == [Decimal("10000000000000.02")]
    assert mrr["arr"].tolist() == [Decimal("120000000000000.24")]


# ---------------------------------------------------------------------------------------------------
# empty input
# ---------------------------------------------------------------------------------------------------


def test_empty_landing_dir_gives_empty_frames(tmp_path: Path) -> None:
    result = read_landing(tmp_path)

    assert (result.lines, result.duplicates, len(result.events), len(result.quarantined)) == (0, 0, 0, 0)
    assert list(result.events.columns) == EVENT_COLUMNS
    for function, columns in [
        (daily_active_users, DAU_COLUMNS),
        (retention_cohorts, RETENTION_COLUMNS),
        (feature_adoption, ADOPTION_COLUMNS),
        (mrr_monthly, MRR_COLUMNS),
    ]:
        frame = function(result.events)
        assert frame.empty and list(frame.columns) == columns


def test_missing_landing_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_landing(tmp_path / "nope")
