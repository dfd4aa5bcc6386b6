"""Staging, core and analytics SQL against an independent pandas computation from the landing files."""

from __future__ import annotations

import gzip
import json
import random
import shutil
from pathlib import Path

import psycopg
import pytest

from pipeline_helpers import assert_matches_reference, read_table, run_pipeline
from saas_analytics import pipeline, transform
from saas_analytics.simulator import SimulationConfig, simulate


def write_events(path: Path, records: list) -> None:
    """Write records (dicts, or raw strings for malformed lines) as a gzip landing file."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def track(mid: str, user: str, ts: str, name: str = "page_viewed", **props) -> dict:
    """A track event."""
    return {"message_id": mid, "type": "track", "event": name, "user_id": user, "timestamp": ts,
            "properties": props, "context": {"platform": "web"}}


def edge_case_files(landing_dir: Path) -> None:
    """Hand-made days with every quarantine reason, duplicates, offsets and MRR movements."""
    write_events(landing_dir / "events_2026-01-31.jsonl.gz", [
        track("a1", "alice", "2026-01-31T09:00:00Z", "signed_up", channel="organic"),
        track("a2", "alice", "2026-01-31T09:05:00Z", "subscription_started", plan="pro", mrr_cents=7900),
        # 23:30 in New York on Jan 31 is Feb 1 in UTC
        track("b1", "bob", "2026-01-31T23:30:00-05:00", "signed_up", channel="paid_search"),
        {"message_id": "i1", "type": "identify", "user_id": "alice", "timestamp": "2026-01-31T09:00:01Z",
         "traits": {"email": "alice@example.com", "name": "Alice", "company": "Acme"}},
        "{not json",
        "[1, 2]",
        json.dumps({"type": "track", "event": "x", "user_id": "u", "timestamp": "2026-01-31T00:00:00Z"}),
        json.dumps({"message_id": "q1", "event": "x", "user_id": "u", "timestamp": "2026-01-31T00:00:00Z"}),
        json.dumps({"message_id": "q2", "type": "pageview", "user_id": "u", "timestamp": "2026-01-31T00:00:00Z"}),
        json.dumps({"message_id": "q3", "type": "track", "event": "x", "timestamp": "2026-01-31T00:00:00Z"}),
        json.dumps({"message_id": "q4", "type": "track", "event": "x", "user_id": "u"}),
        json.dumps({"message_id": "q5", "type": "track", "event": "x", "user_id": "u", "timestamp": "yesterday"}),
        json.dumps({"message_id": "q6", "type": "track", "event": "x", "user_id": "u",
                    "timestamp": "2026-02-30T00:00:00Z"}),
        json.dumps({"message_id": "q7", "type": "track", "user_id": "u", "timestamp": "2026-01-31T00:00:00Z"}),
        json.dumps(track("q8", "u", "2026-01-31T00:00:00Z", "subscription_started", plan="pro", mrr_cents="79")),
        json.dumps(track("q9", "u", "2026-01-31T00:00:00Z", "feature_used")),
    ])
    write_events(landing_dir / "events_2026-02-01.jsonl.gz", [
        track("a1", "alice", "2026-02-01T09:00:00Z", "signed_up"),  # duplicate id from another day: first wins
        track("a3", "alice", "2026-02-10T10:00:00Z", "feature_used", feature="export_pdf"),
        track("b2", "bob", "2026-02-03T10:00:00Z", "feature_used", feature="comments"),
        track("b3", "bob", "2026-02-04T10:00:00Z", "subscription_started", plan="starter", mrr_cents=2900),
        track("b4", "bob", "2026-02-20T10:00:00Z", "subscription_cancelled", plan="starter", mrr_cents=0),
        track("c1", "carol", "2026-02-05T08:00:00+09:00", "signed_up"),
        track("c2", "carol", "2026-02-06T10:00:00Z", "subscription_started", plan="business", mrr_cents=19900),
    ])
    write_events(landing_dir / "events_2026-03-15.jsonl.gz", [
        track("a4", "alice", "2026-03-02T10:00:00Z", "subscription_changed", plan="business", mrr_cents=19900),
        track("c3", "carol", "2026-03-03T10:00:00Z", "subscription_changed", plan="starter", mrr_cents=2900),
        track("a5", "alice", "2026-03-15T10:00:00Z", "feature_used", feature="export_pdf"),
        # a late event for February, received in March
        track("b5", "bob", "2026-02-25T10:00:00Z", "page_viewed"),
    ])
    write_events(landing_dir / "events_2026-05-02.jsonl.gz", [
        track("a6", "alice", "2026-04-01T10:00:00Z", "subscription_cancelled", plan="business", mrr_cents=0),
        track("a7", "alice", "2026-05-02T10:00:00Z", "subscription_started", plan="pro", mrr_cents=7900),
        track("b6", "bob", "2026-05-02T11:00:00Z", "subscription_started", plan="pro", mrr_cents=7900),
    ])


def test_edge_cases_match_the_reference(warehouse_db, landing_dir):
    edge_case_files(landing_dir)
    run_pipeline(warehouse_db, landing_dir)
    landed = assert_matches_reference(warehouse_db, landing_dir)

    with psycopg.connect(warehouse_db) as conn:
        quarantined = conn.execute(
            "select f.file_name, q.line_no, q.reason from staging.quarantine q"
            " join raw.load_files f using (file_id) order by 1, 2").fetchall()
        duplicates = conn.execute("select count(*) from staging.duplicates").fetchone()[0]
        users = dict(conn.execute("select user_id, signup_date::text from core.dim_users").fetchall())
        personal = conn.execute(
            "select count(*) from information_schema.columns where table_schema in ('core', 'analytics')"
            " and column_name in ('email', 'name')").fetchone()[0]
    expected_quarantine = sorted(landed.quarantined[["file", "line", "reason"]].itertuples(index=False, name=None))
    assert [tuple(q) for q in quarantined] == expected_quarantine
    assert {r for _, _, r in quarantined} == {
        "invalid_json", "not_an_object", "missing_message_id", "missing_type", "unknown_type", "missing_user_id",
        "missing_timestamp", "invalid_timestamp", "missing_event", "invalid_mrr_cents", "missing_feature"}
    assert duplicates == landed.duplicates == 1
    assert users["bob"] == "2026-02-01"  # the -05:00 signup belongs to the next UTC day
    assert personal == 0


def test_hand_checked_mrr_movements(warehouse_db, landing_dir):
    """The edge-case story, checked by hand: each month's MRR and movements in currency units."""
    edge_case_files(landing_dir)
    run_pipeline(warehouse_db, landing_dir)
    mrr = read_table(warehouse_db, "mrr_monthly").set_index("month")
    rows = {m.strftime("%Y-%m"): r for m, r in mrr.iterrows()}
    # Jan: alice pro 79. Feb: +carol 199 (bob's starter started and ended within Feb).
    # Mar: alice → 199 (+120), carol → 29 (-170). Apr: alice cancels (-199). May: alice back (reactivation 79),
    # bob new 79 (his February subscription never reached a month end).
    assert [float(rows[m]["mrr"]) for m in ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]] == [
        79, 278, 228, 29, 187]
    assert float(rows["2026-02"]["new_mrr"]) == 199
    assert float(rows["2026-03"]["expansion_mrr"]) == 120 and float(rows["2026-03"]["contraction_mrr"]) == 170
    assert float(rows["2026-04"]["churned_mrr"]) == 199
    assert float(rows["2026-05"]["reactivation_mrr"]) == 79 and float(rows["2026-05"]["new_mrr"]) == 79
    assert float(rows["2026-05"]["arr"]) == 187 * 12 and rows["2026-05"]["customers"] == 3


@pytest.fixture(scope="module")
def simulated_landing(tmp_path_factory) -> Path:
    """A small simulated product: 60 days, a few hundred users, with malformed, duplicate and late lines."""
    path = tmp_path_factory.mktemp("sim") / "landing"
    path.mkdir()
    simulate(SimulationConfig(days=60, users=400, seed=11, malformed_rate=0.01, duplicate_rate=0.03,
                              late_rate=0.05), path)
    return path


def test_simulated_data_matches_the_reference(warehouse_db, simulated_landing):
    run_pipeline(warehouse_db, simulated_landing)
    landed = assert_matches_reference(warehouse_db, simulated_landing)
    with psycopg.connect(warehouse_db) as conn:
        valid, quarantined, duplicates = conn.execute(
            "select (select count(*) from staging.events), (select count(*) from staging.quarantine),"
            " (select count(*) from staging.duplicates)").fetchone()
    assert (valid, quarantined, duplicates) == (len(landed.events), len(landed.quarantined), landed.duplicates)
    assert valid + quarantined + duplicates == landed.lines


def test_incremental_runs_equal_one_full_run(warehouse_db, simulated_landing, landing_dir):
    files = sorted(p.relative_to(simulated_landing) for p in simulated_landing.rglob("*.jsonl.gz"))
    assert len(files) == 60 and all(f.parent.name.startswith("date=") for f in files)  # Hive layout
    # several runs: files arrive in batches, late events reach days already processed, late identifies and
    # aliases re-attribute earlier events
    first: dict[str, str | None] = {}
    for i, batch in enumerate([files[:20], files[20:21], files[21:45], files[45:]]):
        for f in batch:
            (landing_dir / f).parent.mkdir(exist_ok=True)
            shutil.copy(simulated_landing / f, landing_dir / f)
        run_pipeline(warehouse_db, landing_dir, run_id=f"run{i}")
        assert_matches_reference(warehouse_db, landing_dir)
        with psycopg.connect(warehouse_db) as conn:
            persons = dict(conn.execute("select message_id, user_id from core.fact_events").fetchall())
        first = first or persons
    # later runs re-attributed events of the first run (late identifies, aliases), as the reference does
    assert sum(persons[m] != p for m, p in first.items()) > 0


def snapshot(conninfo: str) -> dict[str, list]:
    """Every row of every warehouse table and view that a re-run could change (audit tables excluded)."""
    tables = [
        "raw.events", "raw.rejected_lines", "raw.load_files", "staging.events", "staging.quarantine",
        "staging.duplicates", "staging.staged_files", "core.dim_users", "core.dim_features", "core.dim_documents",
        "core.dim_plans", "core.fact_events", "core.fact_subscription_events", "core.fact_sessions",
        "core.fact_daily_user_activity", "core.identity_link_candidates", "core.identity_links", "core.identity_map",
        "core.dim_accounts", "core.account_members", "core.fact_mrr_monthly",
        *[f"core.{step}" for step in transform.LAYER_STEPS["core"] if step.startswith("agg_")],  # issue 10
        "core.watermarks",
        *[f"analytics.{name}" for name in transform.ANALYTICS_VIEWS if name != "pipeline_run_summary"],  # audit
    ]
    volatile = {"loaded_at", "staged_at", "updated_at", "quarantined_at", "load_seconds", "staged_seq", "batch_id"}
    out = {}
    with psycopg.connect(conninfo) as conn:
        for table in tables:
            cur = conn.execute(f"select * from {table}")
            keep = [i for i, c in enumerate(cur.description) if c.name not in volatile]
            out[table] = sorted(tuple(str(row[i]) for i in keep) for row in cur.fetchall())
    return out


def test_a_second_run_with_nothing_new_changes_nothing(warehouse_db, simulated_landing):
    run_pipeline(warehouse_db, simulated_landing, run_id="first")
    before = snapshot(warehouse_db)
    run_pipeline(warehouse_db, simulated_landing, run_id="second")
    assert snapshot(warehouse_db) == before


def test_a_failed_core_step_rolls_back_and_a_retry_finishes(warehouse_db, simulated_landing, monkeypatch):
    pipeline.load(warehouse_db, "r", simulated_landing)
    pipeline.build_layer(warehouse_db, "r", "staging")
    broken = dict(transform.LAYER_STEPS)
    broken["core"] = (*transform.LAYER_STEPS["core"][:-1], "no_such_step")
    monkeypatch.setattr(transform, "LAYER_STEPS", broken)
    with pytest.raises(FileNotFoundError):
        pipeline.build_layer(warehouse_db, "r", "core")
    with psycopg.connect(warehouse_db) as conn:
        assert conn.execute("select count(*) from core.fact_events").fetchone()[0] == 0
        assert conn.execute("select status from analytics.pipeline_run_stages where stage = 'core'").fetchone() == (
            "failed",)
    monkeypatch.undo()
    pipeline.build_layer(warehouse_db, "r", "core")
    pipeline.refresh(warehouse_db, "r")
    assert_matches_reference(warehouse_db, simulated_landing)


def test_a_failing_data_test_names_the_file_and_rows(warehouse_db, landing_dir):
    edge_case_files(landing_dir)
    run_pipeline(warehouse_db, landing_dir)
    with psycopg.connect(warehouse_db, autocommit=True) as conn:
        conn.execute("delete from core.fact_daily_user_activity where user_id = 'alice'")
    with pytest.raises(transform.DataTestError, match="assert_core_daily_activity_matches_events.sql returned"):
        pipeline.check(warehouse_db, "t", pipeline.CORE_TEST_LAYERS)


def staged(conninfo: str) -> tuple[dict, list, dict]:
    """staging.events as {message_id: (file, line_no, event_name)}, the duplicates, and staged_files' counts."""
    with psycopg.connect(conninfo) as conn:
        events = {m: (f, n, e) for m, f, n, e in conn.execute(
            "select e.message_id, l.file_name, e.line_no, e.event_name from staging.events as e"
            " join raw.load_files as l using (file_id)").fetchall()}
        duplicates = conn.execute(
            "select l.file_name, d.line_no, d.message_id from staging.duplicates as d"
            " join raw.load_files as l using (file_id) order by 1, 2").fetchall()
        files = {f: (v, q, d) for f, v, q, d in conn.execute(
            "select l.file_name, s.valid_events, s.quarantined, s.duplicates from staging.staged_files as s"
            " join raw.load_files as l using (file_id)").fetchall()}
    return events, duplicates, files


def test_the_first_copy_loaded_wins_within_a_batch_and_across_runs(warehouse_db, landing_dir):
    ts = "2026-01-01T10:00:00Z"
    # one batch of two files: a copy later in the same file, and a copy in the next file at a lower line number
    write_events(landing_dir / "events_2026-01-01.jsonl.gz", [
        track("m1", "u1", ts, "a_line_1"),
        track("m2", "u1", ts, "a_line_2"),
        track("m1", "u2", ts, "a_line_3"),
        "{not json",
        # Segment's camelCase id wins over snake_case
        {"messageId": "m3", "message_id": "m4", "type": "track", "event": "a_line_5", "userId": "u3", "timestamp": ts},
    ])
    write_events(landing_dir / "events_2026-01-02.jsonl.gz", [
        track("m2", "u2", ts, "b_line_1"),
        track("m5", "u2", ts, "b_line_2"),
    ])
    pipeline.load(warehouse_db, "first", landing_dir)
    pipeline.build_layer(warehouse_db, "first", "staging")
    events, duplicates, files = staged(warehouse_db)
    assert events == {
        "m1": ("events_2026-01-01.jsonl.gz", 1, "a_line_1"),
        "m2": ("events_2026-01-01.jsonl.gz", 2, "a_line_2"),
        "m3": ("events_2026-01-01.jsonl.gz", 5, "a_line_5"),
        "m5": ("events_2026-01-02.jsonl.gz", 2, "b_line_2"),
    }
    assert duplicates == [("events_2026-01-01.jsonl.gz", 3, "m1"), ("events_2026-01-02.jsonl.gz", 1, "m2")]
    assert files == {"events_2026-01-01.jsonl.gz": (3, 1, 1), "events_2026-01-02.jsonl.gz": (1, 0, 1)}

    # a later run: a copy of an id staged by the first run, and a new id twice
    write_events(landing_dir / "events_2026-01-03.jsonl.gz", [
        track("m5", "u3", ts, "c_line_1"),
        track("m6", "u3", ts, "c_line_2"),
        track("m6", "u1", ts, "c_line_3"),
    ])
    pipeline.load(warehouse_db, "second", landing_dir)
    pipeline.build_layer(warehouse_db, "second", "staging")
    events, duplicates, files = staged(warehouse_db)
    assert events["m5"] == ("events_2026-01-02.jsonl.gz", 2, "b_line_2")
    assert events["m6"] == ("events_2026-01-03.jsonl.gz", 2, "c_line_2")
    assert len(events) == 5
    assert duplicates[2:] == [("events_2026-01-03.jsonl.gz", 1, "m5"), ("events_2026-01-03.jsonl.gz", 3, "m6")]
    assert files["events_2026-01-03.jsonl.gz"] == (1, 0, 2)
    with psycopg.connect(warehouse_db) as conn:
        quarantined = conn.execute("select line_no, reason, detail is not null, raw_line from staging.quarantine"
                                   ).fetchall()
    assert quarantined == [(4, "invalid_json", True, "{not json")]


def long_key(seed: int, chars: int = 250) -> str:
    """Non-repeating text of four-byte characters (250 = 1,000 bytes of UTF-8, rule 15's limit): b-tree entries
    cannot compress it, so it is the widest an accepted id or key can be."""
    rng = random.Random(seed)
    return "".join(chr(rng.randrange(0x10000, 0x110000)) for _ in range(chars))


def test_ids_and_keys_over_the_limit_are_quarantined_and_every_run_succeeds(warehouse_db, landing_dir):
    day, ts = "2026-01-10", "2026-01-10T10:00:00Z"
    person, anonymous, feature, document, platform = (long_key(n) for n in range(1, 6))
    account, previous, plan, channel, source = (long_key(n) for n in range(6, 11))
    second_person = long_key(11)
    over = long_key(99, 251)  # 1,004 bytes

    def call(mid: str, kind: str, **fields) -> dict:
        return {"messageId": mid, "type": kind, "timestamp": ts, **fields}

    lines = [
        # every id and key at 1,000 bytes, two of them in the widest indexes: (user_id, feature),
        # (source_id, target_id), (account_id, user_id), (activity_date, platform), (signup_month, channel)
        (track("ok-1", "ana", ts), None),
        (call(long_key(12), "track", event="feature_used", userId=person, anonymousId=anonymous,
              properties={"feature": feature, "document_id": document}, context={"platform": platform}), None),
        (call("ok-group", "group", userId=person, groupId=account), None),
        (call("ok-alias", "alias", userId=person, previousId=previous), None),
        (call("ok-sub", "track", event="subscription_started", userId=person,
              properties={"plan": plan, "mrr_cents": 4900}), None),
        (call("ok-signup", "track", event="signed_up", userId=person, properties={"channel": channel}), None),
        (call("ok-signup-2", "track", event="signed_up", userId=second_person,
              context={"campaign": {"source": source}}), None),
        # one byte or character over, one field at a time
        (track("m" * 1001, "ana", ts), "id_too_long"),
        (track("q-user", over, ts), "id_too_long"),
        (call("q-anonymous", "page", anonymousId="a" * 1001), "id_too_long"),
        (call("q-previous", "alias", userId="ana", previousId=over), "id_too_long"),
        (call("q-group", "group", userId="ana", groupId="g" * 1001), "id_too_long"),
        (track("q-feature", "ana", ts, "feature_used", feature=over), "id_too_long"),
        (track("q-plan", "ana", ts, "subscription_changed", plan="p" * 1001, mrr_cents=100), "id_too_long"),
        (track("q-document", "ana", ts, document_id=over), "id_too_long"),
        (call("q-platform", "screen", userId="ana", context={"platform": "w" * 1001}), "id_too_long"),
        (track("q-channel", "ana", ts, "signed_up", channel=over), "id_too_long"),
        (call("q-source", "track", event="signed_up", userId="ana", context={"campaign": {"source": over}}),
         "id_too_long"),
        (track("q-huge", long_key(98, 800), ts), "id_too_long"),  # 3,200 bytes: beyond any b-tree entry
        (track("ok-2", "bob", ts, "feature_used", feature="export"), None),
    ]
    write_events(landing_dir / f"events_{day}.jsonl.gz", [line for line, _ in lines])

    run_pipeline(warehouse_db, landing_dir, "first")
    landed = assert_matches_reference(warehouse_db, landing_dir)

    expected = [(n, reason) for n, (_, reason) in enumerate(lines, start=1) if reason]
    with psycopg.connect(warehouse_db) as conn:
        quarantined = conn.execute("select line_no, reason from staging.quarantine order by line_no").fetchall()
        staged_files = conn.execute("select valid_events, quarantined, duplicates from staging.staged_files"
                                    ).fetchall()
        links = dict(conn.execute("select source_id, target_id from core.identity_links").fetchall())
        plans = conn.execute("select plan from core.dim_plans").fetchall()
        features = conn.execute("select feature from core.dim_features order by feature").fetchall()
        members = conn.execute("select account_id, user_id from core.account_members").fetchall()
        documents = conn.execute("select document_id, first_user_id from core.dim_documents").fetchall()
        platforms = conn.execute("select platform from core.agg_platform_daily_activity order by platform"
                                 ).fetchall()
        channels = dict(conn.execute("select user_id, acquisition_channel from core.dim_users"
                                     " where signup_date is not null").fetchall())
    assert quarantined == expected == [(n, "id_too_long") for n in range(8, 20)]
    assert staged_files == [(8, 12, 0)]
    assert len(landed.quarantined) == 12
    assert links == {anonymous: person, previous: person}
    assert plans == [(plan,)]
    assert features == sorted([("export",), (feature,)])
    assert members == [(account, person)]
    assert documents == [(document, person)]
    # the person's main platform is the long one; ana's and bob's is web; the second person has none
    assert platforms == sorted([("web",), (platform,), ("unknown",)])
    assert channels == {person: channel, second_person: source}

    # later runs succeed: one with a new file, one with nothing new
    write_events(landing_dir / "events_2026-01-11.jsonl.gz", [track("ok-3", person, "2026-01-11T10:00:00Z")])
    run_pipeline(warehouse_db, landing_dir, "second")
    run_pipeline(warehouse_db, landing_dir, "third")
    assert_matches_reference(warehouse_db, landing_dir)
    with psycopg.connect(warehouse_db) as conn:
        runs = conn.execute("select count(*) from core.fact_events").fetchone()[0]
    assert runs == 9
