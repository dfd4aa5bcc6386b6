"""Tests for the seeded event simulator: determinism, the Contract 1 line format and believable behaviour."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import mean
from typing import Any

import pytest

from saas_analytics.simulator import (
    FEATURES,
    MONTHLY_PRICE_CENTS,
    Incident,
    SimulationConfig,
    SimulationSummary,
    mrr_cents,
    simulate,
)

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TRACK_KEYS = ["message_id", "type", "event", "user_id", "timestamp", "received_at", "properties", "context"]
IDENTIFY_KEYS = ["message_id", "type", "user_id", "timestamp", "received_at", "traits", "context"]
ADVANCED = {"integrations", "api", "sso", "analytics_dashboard", "automations"}

START = date(2026, 6, 1)
OUTAGE = Incident("outage", date(2026, 7, 15))
SPIKE = Incident("signup_spike", date(2026, 8, 5))


@dataclass(frozen=True)
class Line:
    """One landed line: where it is, its text, and (when valid) the parsed event and its UTC instant."""

    file_day: date
    text: str
    record: dict[str, Any] | None
    utc: datetime | None
    reason: str | None


def parse_instant(text: Any) -> datetime | None:
    """The UTC instant of a Contract 1 timestamp, or None when it does not match the format."""
    if not isinstance(text, str) or not TS_RE.match(text):
        return None
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return None


def classify(text: str) -> tuple[dict[str, Any] | None, datetime | None, str | None]:
    """Validate a line the way the warehouse does: (record, UTC instant, None) or (None, None, reason)."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return None, None, "invalid_json"
    if not isinstance(record, dict):
        return None, None, f"not_object_{type(record).__name__}"
    for required in ("message_id", "user_id", "timestamp"):
        if not record.get(required):
            return None, None, f"missing_{required}"
    if record.get("type") not in ("track", "identify"):
        return None, None, "unknown_type"
    if record["type"] == "track" and not record.get("event"):
        return None, None, "missing_event"
    utc = parse_instant(record["timestamp"])
    if utc is None:
        return None, None, "bad_timestamp"
    return record, utc, None


def read_lines(summary: SimulationSummary) -> list[Line]:
    """Every line of every written file, in file then line order."""
    out = []
    for path in summary.files:
        file_day = date.fromisoformat(path.name.removeprefix("events_").removesuffix(".jsonl.gz"))
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for text in fh.read().splitlines():
                record, utc, reason = classify(text)
                out.append(Line(file_day, text, record, utc, reason))
    return out


def first_events(lines: list[Line]) -> Iterator[Line]:
    """Valid lines, first occurrence of each message_id only (the warehouse's dedupe)."""
    seen: set[str] = set()
    for line in lines:
        if line.record is not None and line.record["message_id"] not in seen:
            seen.add(line.record["message_id"])
            yield line


def active_days(lines: list[Line]) -> dict[str, set[date]]:
    """UTC days on which each user has at least one valid, deduplicated track event."""
    days: dict[str, set[date]] = defaultdict(set)
    for line in first_events(lines):
        if line.record and line.record["type"] == "track" and line.utc:
            days[line.record["user_id"]].add(line.utc.date())
    return days


def daily_active_users(lines: list[Line]) -> Counter[date]:
    """DAU per UTC day."""
    return Counter(day for days in active_days(lines).values() for day in days)


def signups_per_day(lines: list[Line]) -> Counter[date]:
    """signed_up events per UTC day."""
    return Counter(line.utc.date() for line in first_events(lines)
                   if line.record and line.record.get("event") == "signed_up" and line.utc)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationSummary, list[Line]]:
    """A small run with raised error rates, so every kind of bad line shows up."""
    config = SimulationConfig(start=START, days=12, users=400, seed=7, malformed_rate=0.02,
                              duplicate_rate=0.03, late_rate=0.05, fmt="snake")
    summary = simulate(config, tmp_path_factory.mktemp("small"))
    return summary, read_lines(summary)


@pytest.fixture(scope="module")
def long_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationSummary, list[Line]]:
    """Twelve weeks with an outage and a signup spike planted."""
    config = SimulationConfig(start=START, days=84, users=1500, seed=11, incidents=(OUTAGE, SPIKE), fmt="snake")
    summary = simulate(config, tmp_path_factory.mktemp("long"))
    return summary, read_lines(summary)


def test_same_seed_gives_identical_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    """Two runs with one config write byte-identical files; another seed writes different ones."""
    config = SimulationConfig(days=5, users=150, seed=3, incidents=(Incident("outage", date(2026, 6, 3)),))
    first = simulate(config, tmp_path / "a")
    second = simulate(config, tmp_path / "b")
    other = simulate(SimulationConfig(days=5, users=150, seed=4), tmp_path / "c")
    assert [p.name for p in first.files] == [p.name for p in second.files] == [p.name for p in other.files]
    assert [p.read_bytes() for p in first.files] == [p.read_bytes() for p in second.files]
    assert [p.read_bytes() for p in first.files] != [p.read_bytes() for p in other.files]
    assert (first.events, first.lines, first.malformed, first.duplicates, first.late, first.users) == (
        second.events, second.lines, second.malformed, second.duplicates, second.late, second.users)


def test_one_deterministic_gzip_file_per_day(tmp_path: Path) -> None:
    """Files are named events_YYYY-MM-DD.jsonl.gz, one per day, in the landing folder, gzip without name/mtime."""
    messages: list[str] = []
    summary = simulate(SimulationConfig(start=date(2026, 2, 26), days=4, users=60, seed=1, fmt="snake"), tmp_path,
                       progress=messages.append)
    expected = ["events_2026-02-26.jsonl.gz", "events_2026-02-27.jsonl.gz", "events_2026-02-28.jsonl.gz",
                "events_2026-03-01.jsonl.gz"]
    assert [p.name for p in summary.files] == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == expected
    assert all(p.parent == tmp_path for p in summary.files)
    for path in summary.files:
        head = path.read_bytes()[:10]
        assert head[:3] == b"\x1f\x8b\x08" and head[3] & 0x08 == 0 and head[4:8] == b"\0\0\0\0"
    assert len(messages) == 4
    assert messages[0].startswith("2026-02-26: ") and messages[0].endswith(" lines")


def test_summary_counts_match_the_files(small: tuple[SimulationSummary, list[Line]]) -> None:
    """lines, malformed, duplicates, distinct events, late events and signups agree with what was written."""
    summary, lines = small
    valid = [line for line in lines if line.record is not None]
    firsts = list(first_events(lines))
    late = [line for line in firsts if line.utc and line.utc.date() < line.file_day]
    signups = {line.record["user_id"] for line in firsts if line.record and line.record.get("event") == "signed_up"}
    assert summary.lines == len(lines)
    assert summary.malformed == len(lines) - len(valid) > 0
    assert summary.duplicates == len(valid) - len(firsts) > 0
    assert summary.events == len(firsts)
    assert summary.late == len(late) > 0
    assert summary.users == len(signups) > 0
    assert summary.incidents == ()


def test_duplicates_are_identical_lines_in_the_same_or_a_later_file(
        small: tuple[SimulationSummary, list[Line]]) -> None:
    """A re-sent event repeats its line byte for byte, never in an earlier file."""
    _, lines = small
    by_id: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        if line.record is not None:
            by_id[line.record["message_id"]].append(line)
    repeated = [group for group in by_id.values() if len(group) > 1]
    assert repeated
    for group in repeated:
        assert {line.text for line in group} == {group[0].text}
        assert all(line.file_day >= group[0].file_day for line in group)


def test_rates_are_roughly_as_configured(small: tuple[SimulationSummary, list[Line]]) -> None:
    """Malformed, duplicate and late shares are near their configured rates."""
    summary, _ = small
    assert 0.01 < summary.malformed / summary.lines < 0.035
    assert 0.015 < summary.duplicates / summary.events < 0.05
    assert 0.025 < summary.late / summary.events < 0.1


def test_malformed_lines_mix_several_kinds(small: tuple[SimulationSummary, list[Line]]) -> None:
    """Bad lines include broken JSON, non-objects, missing fields, bad timestamps, unknown types."""
    _, lines = small
    reasons = Counter(line.reason for line in lines if line.reason)
    assert {"invalid_json", "missing_message_id", "missing_user_id", "missing_timestamp", "bad_timestamp",
            "unknown_type", "missing_event"} <= set(reasons)
    assert {"not_object_list", "not_object_str"} & set(reasons)


def test_lines_are_compact_json_with_fixed_key_order(small: tuple[SimulationSummary, list[Line]]) -> None:
    """Valid lines are exactly what compact json.dumps gives, with the Contract 1 keys in a fixed order."""
    _, lines = small
    for line in lines:
        if line.record is None:
            continue
        assert json.dumps(line.record, separators=(",", ":"), ensure_ascii=False) == line.text
        assert list(line.record) == (TRACK_KEYS if line.record["type"] == "track" else IDENTIFY_KEYS)
        assert UUID_RE.match(line.record["message_id"])
        assert re.fullmatch(r"u_\d{6}", line.record["user_id"])
        assert set(line.record["context"]) == {"platform", "app_version", "locale"}
        assert line.record["context"]["platform"] in ("web", "ios", "android")


def test_timestamps_follow_the_format_and_some_use_offsets(small: tuple[SimulationSummary, list[Line]]) -> None:
    """timestamp and received_at match the ISO pattern; ~10 % carry a non-UTC offset; received_at ≥ timestamp."""
    _, lines = small
    events = list(first_events(lines))
    offsets = 0
    shifted_day = 0
    for line in events:
        record = line.record or {}
        assert TS_RE.match(record["timestamp"]) and TS_RE.match(record["received_at"])
        assert record["received_at"].endswith("Z")
        received = parse_instant(record["received_at"])
        assert received is not None and line.utc is not None and received >= line.utc
        assert received.date() == line.file_day
        if not record["timestamp"].endswith("Z"):
            offsets += 1
            shifted_day += record["timestamp"][:10] != line.utc.date().isoformat()
    assert 0.03 < offsets / len(events) < 0.25
    assert shifted_day > 0


def test_files_are_ordered_by_received_at(small: tuple[SimulationSummary, list[Line]]) -> None:
    """Within a file, valid lines come in received_at order."""
    summary, lines = small
    for path in summary.files:
        day = date.fromisoformat(path.name[7:17])
        received = [parse_instant(line.record["received_at"]) for line in lines
                    if line.file_day == day and line.record is not None]
        assert received == sorted(received)  # type: ignore[type-var]


def test_late_events_land_one_to_five_days_later(small: tuple[SimulationSummary, list[Line]]) -> None:
    """No event lands before its own day or more than five days after it."""
    _, lines = small
    gaps = Counter((line.file_day - line.utc.date()).days for line in first_events(lines) if line.utc)
    assert min(gaps) == 0 and max(gaps) <= 5
    assert sum(n for gap, n in gaps.items() if gap >= 2) > 0


def test_every_signup_is_identified(small: tuple[SimulationSummary, list[Line]]) -> None:
    """Each signed_up user has an identify with the expected traits; signup properties are sane."""
    _, lines = small
    events = [line.record for line in first_events(lines) if line.record]
    traits = {e["user_id"]: e["traits"] for e in events if e["type"] == "identify"}
    for event in events:
        if event.get("event") == "signed_up":
            assert event["properties"]["plan"] in ("free", "trial")
            assert event["properties"]["channel"] in ("organic", "paid_search", "referral", "social", "partner")
            user_traits = traits[event["user_id"]]
            assert list(user_traits) == ["email", "name", "company", "country", "plan", "created_at"]
            assert "@" in user_traits["email"] and TS_RE.match(user_traits["created_at"])


def test_engagement_events_carry_their_properties(small: tuple[SimulationSummary, list[Line]]) -> None:
    """feature_used names a known feature; document events a stable per-user document id."""
    _, lines = small
    names = Counter()
    for line in first_events(lines):
        record = line.record or {}
        event, props = record.get("event"), record.get("properties", {})
        names[event] += 1
        if event == "feature_used":
            assert props["feature"] in FEATURES
        if event in ("document_created", "document_edited", "document_shared"):
            assert props["document_id"].startswith(f"doc_{record['user_id'][2:]}_")
    assert {"session_started", "page_viewed", "feature_used", "document_created", "document_edited",
            "signed_up"} <= set(names)


def test_documents_are_created_before_they_are_edited(long_run: tuple[SimulationSummary, list[Line]]) -> None:
    """Edited and shared documents were created earlier by the same user."""
    _, lines = long_run
    created: dict[str, datetime] = {}
    used: list[tuple[str, datetime]] = []
    for line in first_events(lines):
        record = line.record or {}
        if record.get("event") == "document_created" and line.utc:
            created[record["properties"]["document_id"]] = line.utc
        elif record.get("event") in ("document_edited", "document_shared") and line.utc:
            used.append((record["properties"]["document_id"], line.utc))
    known = [(doc, at) for doc, at in used if doc in created]
    assert len(known) > 0.97 * len(used)  # a few creations are late arrivals past the last file
    assert all(created[doc] < at for doc, at in known)


def test_mrr_cents_rules(long_run: tuple[SimulationSummary, list[Line]]) -> None:
    """mrr_cents is the MRR after the event: the plan price, annual ÷ 12, 0 after a cancellation."""
    _, lines = long_run
    assert (mrr_cents("starter", "annual"), mrr_cents("pro", "annual"), mrr_cents("business", "annual")) == (
        2416, 6583, 16583)
    kinds = Counter()
    for line in first_events(lines):
        record = line.record or {}
        event, props = record.get("event", ""), record.get("properties", {})
        if not event.startswith("subscription_"):
            continue
        kinds[(event, props["billing_period"])] += 1
        assert isinstance(props["mrr_cents"], int)
        if event == "subscription_cancelled":
            assert props["mrr_cents"] == 0
        else:
            monthly = MONTHLY_PRICE_CENTS[props["plan"]]
            expected = monthly if props["billing_period"] == "monthly" else monthly * 10 // 12
            assert props["mrr_cents"] == expected
    assert {("subscription_started", "monthly"), ("subscription_started", "annual"),
            ("subscription_changed", "monthly"), ("subscription_cancelled", "monthly")} <= set(kinds)


def test_subscription_histories_are_consistent(long_run: tuple[SimulationSummary, list[Line]]) -> None:
    """Per user: no billing before the trial ends, changes start from the previous MRR, cancels from > 0."""
    _, lines = long_run
    signup: dict[str, tuple[datetime, str]] = {}
    history: dict[str, list[tuple[datetime, dict[str, Any], str]]] = defaultdict(list)
    for line in first_events(lines):
        record = line.record or {}
        if record.get("event") == "signed_up" and line.utc:
            signup[record["user_id"]] = (line.utc, record["properties"]["plan"])
        elif record.get("event", "").startswith("subscription_") and line.utc:
            history[record["user_id"]].append((line.utc, record["properties"], record["event"]))
    reactivated = 0
    for user, events in history.items():
        events.sort(key=lambda item: item[0])
        signed_up_at, plan = signup[user]
        if plan == "trial":
            assert events[0][0] >= signed_up_at + timedelta(days=14) - timedelta(seconds=1)
        mrr = 0
        for _, props, event in events:
            if event == "subscription_started":
                assert mrr == 0
                reactivated += props is not events[0][1]
            elif event == "subscription_changed":
                assert props["previous_mrr_cents"] == mrr > 0
            else:
                assert props["previous_mrr_cents"] == mrr > 0
            mrr = props["mrr_cents"]
    assert reactivated > 0


def test_signups_are_higher_on_weekdays(long_run: tuple[SimulationSummary, list[Line]]) -> None:
    """Average signups on Monday-Friday clearly exceed Saturday-Sunday; later weeks exceed earlier ones."""
    _, lines = long_run
    per_day = signups_per_day(lines)
    days = [START + timedelta(days=i) for i in range(84) if START + timedelta(days=i) != SPIKE.day]
    weekday = mean(per_day[d] for d in days if d.weekday() < 5 and d != OUTAGE.day)
    weekend = mean(per_day[d] for d in days if d.weekday() >= 5)
    assert weekday > 1.4 * weekend
    assert sum(per_day[d] for d in days[-28:]) > 1.3 * sum(per_day[d] for d in days[:28])


def test_outage_day_has_far_fewer_active_users(long_run: tuple[SimulationSummary, list[Line]]) -> None:
    """On the outage day DAU drops to a fraction of the same weekdays around it."""
    _, lines = long_run
    dau = daily_active_users(lines)
    around = [dau[OUTAGE.day + timedelta(days=k)] for k in (-14, -7, 7, 14)]
    assert dau[OUTAGE.day] < 0.4 * mean(around)
    assert dau[OUTAGE.day] > 0.05 * mean(around)


def test_signup_spike_day_has_many_more_signups(long_run: tuple[SimulationSummary, list[Line]]) -> None:
    """The campaign day has several times the signups of the same weekdays around it, from channel campaign."""
    summary, lines = long_run
    per_day = signups_per_day(lines)
    around = [per_day[SPIKE.day + timedelta(days=k)] for k in (-14, -7, 7, 14)]
    assert per_day[SPIKE.day] > 2.5 * mean(around)
    campaign_days = {line.utc.date() for line in first_events(lines) if line.record and line.utc
                     and line.record.get("event") == "signed_up"
                     and line.record["properties"]["channel"] == "campaign"}
    assert campaign_days == {SPIKE.day}
    assert summary.incidents == (OUTAGE, SPIKE)


def test_users_go_quiet_before_they_cancel(long_run: tuple[SimulationSummary, list[Line]]) -> None:
    """Cancelling users are less active in their last 14 days than in their first 14, and than just before."""
    _, lines = long_run
    days = active_days(lines)
    signed_up = {line.record["user_id"]: line.utc.date() for line in first_events(lines)
                 if line.record and line.utc and line.record.get("event") == "signed_up"}
    cancelled = {}
    for line in first_events(lines):
        if line.record and line.utc and line.record.get("event") == "subscription_cancelled":
            cancelled.setdefault(line.record["user_id"], line.utc.date())
    first, last, before = [], [], []
    for user, cancel_day in cancelled.items():
        start = signed_up[user]
        if (cancel_day - start).days < 28:
            continue
        active = days[user]
        first.append(sum(start + timedelta(days=k) in active for k in range(14)))
        last.append(sum(cancel_day - timedelta(days=k) in active for k in range(1, 15)))
        before.append(sum(cancel_day - timedelta(days=k) in active for k in range(15, 29)))
    assert len(first) >= 15
    assert mean(last) < 0.65 * mean(first)
    assert mean(last) < 0.8 * mean(before)


def test_advanced_features_are_mostly_used_on_paid_plans(long_run: tuple[SimulationSummary, list[Line]]) -> None:
    """Users who never paid use advanced features far less than paying users."""
    _, lines = long_run
    paying = {line.record["user_id"] for line in first_events(lines)
              if line.record and line.record.get("event") == "subscription_started"}
    uses: dict[bool, Counter[bool]] = {True: Counter(), False: Counter()}
    for line in first_events(lines):
        record = line.record or {}
        if record.get("event") == "feature_used":
            uses[record["user_id"] in paying][record["properties"]["feature"] in ADVANCED] += 1
    share = {paid: c[True] / (c[True] + c[False]) for paid, c in uses.items()}
    assert share[True] > 2 * share[False]


@pytest.mark.parametrize(
    "config",
    [
        SimulationConfig(days=0),
        SimulationConfig(duplicate_rate=1.0),
        SimulationConfig(days=10, incidents=(Incident("outage", date(2026, 6, 11)),)),
        SimulationConfig(days=10, incidents=(Incident("meteor", date(2026, 6, 2)),)),
        SimulationConfig(days=3, fmt="xml"),
    ],
)
def test_invalid_configs_are_rejected(config: SimulationConfig, tmp_path: Path) -> None:
    """Impossible configs raise ValueError before anything is written."""
    with pytest.raises(ValueError):
        simulate(config, tmp_path / "landing")
    assert not (tmp_path / "landing").exists()


def test_no_users_writes_empty_files(tmp_path: Path) -> None:
    """A run without users still writes one (empty) file per day."""
    summary = simulate(SimulationConfig(days=3, users=0), tmp_path)
    assert len(summary.files) == 3 and summary.lines == summary.events == summary.users == 0
    assert all(gzip.decompress(p.read_bytes()) == b"" for p in summary.files)


# ---------------------------------------------------------------------------------------------------
# the Segment format (the default)
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def segment(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulationSummary, list[dict[str, Any]]]:
    """Ninety days in the default Segment format: every parseable JSON object, in file then line order."""
    root = tmp_path_factory.mktemp("segment")
    summary = simulate(SimulationConfig(start=START, days=90, users=1000, seed=5), root)
    records = []
    for path in summary.files:
        for text in gzip.decompress(path.read_bytes()).decode().splitlines():
            try:
                record = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return root, summary, records


def test_segment_files_are_hive_folders_of_camel_case_calls(segment) -> None:
    """date=YYYY-MM-DD/events.jsonl.gz; camelCase ids; all six call types; pages on web, screens in apps."""
    root, summary, records = segment
    assert [p.relative_to(root).as_posix() for p in summary.files[:2]] == [
        "date=2026-06-01/events.jsonl.gz", "date=2026-06-02/events.jsonl.gz"]
    assert {r["type"] for r in records} >= {"track", "identify", "page", "screen", "group", "alias"}
    assert not any("message_id" in r or "user_id" in r for r in records if "messageId" in r)
    assert {r["context"]["platform"] for r in records if r["type"] == "page" and "userId" in r} == {"web"}
    assert {r["context"]["platform"] for r in records if r["type"] == "screen"} <= {"ios", "android"}
    assert all(r.get("name") for r in records if r["type"] in ("page", "screen"))


def test_anonymous_visits_are_stitched_some_by_a_later_identify(segment) -> None:
    """Each visitor id seen before signup is later identified; some identifies come two or more days later."""
    _, _, records = segment
    signup = {r["userId"]: parse_instant(r["timestamp"]) for r in records if r.get("event") == "signed_up"}
    stitched = {r["anonymousId"]: (r["userId"], parse_instant(r["timestamp"]))
                for r in records if r["type"] == "identify" and "anonymousId" in r}
    anonymous_only = [r for r in records if "userId" not in r and "anonymousId" in r and r["type"] == "page"]
    assert anonymous_only
    visitors = {r["anonymousId"] for r in anonymous_only}
    stitched_visitors = visitors & set(stitched)
    assert stitched_visitors and visitors - stitched_visitors  # some visitors never sign up
    lags = [stitched[v][1] - signup[stitched[v][0]] for v in stitched_visitors if stitched[v][0] in signup]
    assert any(lag >= timedelta(days=2) for lag in lags) and any(lag < timedelta(seconds=1) for lag in lags)


def test_aliases_merge_a_users_first_id(segment) -> None:
    """An alias call names the temporary id a user had before it; their earlier events used it."""
    _, _, records = segment
    aliases = [r for r in records if r["type"] == "alias"]
    assert aliases
    for alias in aliases:
        assert alias["previousId"] == "tmp_" + alias["userId"].removeprefix("u_")
    used = {r.get("userId") for r in records}
    assert {a["previousId"] for a in aliases} & used


def test_payments_and_involuntary_churn(segment) -> None:
    """Charges carry amount_cents; a cancellation with reason payment_failed follows failed charges."""
    _, _, records = segment
    payments = [r for r in records if r.get("event", "").startswith("payment_")]
    assert {r["event"] for r in payments} == {"payment_succeeded", "payment_failed"}
    assert all(isinstance(r["properties"]["amount_cents"], int) and r["properties"]["amount_cents"] > 0
               for r in payments)
    failed = defaultdict(list)
    for r in payments:
        if r["event"] == "payment_failed":
            failed[r["userId"]].append(parse_instant(r["timestamp"]))
    involuntary = [r for r in records if r.get("event") == "subscription_cancelled"
                   and r["properties"].get("reason") == "payment_failed"]
    assert involuntary
    for r in involuntary:
        when = parse_instant(r["timestamp"])
        assert r["properties"]["mrr_cents"] == 0
        # the first attempt and both retries (3 and 7 days later) failed in the 8 days before
        assert len([t for t in failed[r["userId"]] if when - timedelta(days=9) < t < when]) == 3


def test_snake_format_keeps_the_original_spelling(tmp_path: Path) -> None:
    """fmt='snake': flat daily files of snake_case track/identify lines, as before."""
    summary = simulate(SimulationConfig(days=3, users=80, seed=2, fmt="snake"), tmp_path)
    assert [p.name for p in summary.files][0] == "events_2026-06-01.jsonl.gz"
    records = [json.loads(t) for p in summary.files for t in gzip.decompress(p.read_bytes()).decode().splitlines()
               if t.startswith('{"message_id"')]
    assert records and {r["type"] for r in records} <= {"track", "identify"}
    assert not any("messageId" in r or "anonymousId" in r for r in records)
