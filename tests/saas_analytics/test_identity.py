"""Segment-spec streams and identity in the warehouse: each case equals the pandas reference and hand values."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from pipeline_helpers import assert_matches_reference, read_table, run_pipeline

STABLE_CORE = {
    # table: columns that a clean run and an incremental run must agree on (audit timestamps left out)
    "core.fact_events": "message_id, user_id, sent_user_id, anonymous_id, event_type, event_name, event_at",
    "core.fact_daily_user_activity": "user_id, activity_date, activity_events, track_events, feature_uses, "
                                     "first_event_at, last_event_at",
    "core.dim_users": "user_id, signup_at, signup_date, acquisition_channel, first_seen_at, last_seen_at, "
                      "company, country, email_domain",
    "core.fact_subscription_events": "message_id, user_id, event_name, event_at, plan, mrr_cents",
    "core.account_members": "account_id, user_id, first_grouped_at, last_grouped_at",
    "core.dim_accounts": "account_id, account_name, first_seen_at, last_seen_at",
    "core.dim_features": "feature, first_used_at, last_used_at",
    "core.dim_documents": "document_id, first_user_id, first_event_at, last_event_at",
    "core.dim_plans": "plan, billing_period, min_mrr_cents, max_mrr_cents, first_seen_at",
    "core.identity_links": "source_id, target_id",
    "core.identity_map": "id, person_id",
}


def seg(kind: str, mid: str, ts: str, user: str | None = None, anon: str | None = None, **extra: Any) -> dict:
    """A Segment-style (camelCase) call."""
    line: dict[str, Any] = {"messageId": mid, "type": kind, "timestamp": ts, **extra}
    if user is not None:
        line["userId"] = user
    if anon is not None:
        line["anonymousId"] = anon
    return line


def write(path: Path, lines: list[dict | str | bytes], gz: bool | None = None) -> Path:
    """Write a landing file (folders created; gzip when the name ends in .gz)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = b"".join((line if isinstance(line, bytes) else
                    (json.dumps(line) if isinstance(line, dict) else line).encode()) + b"\n" for line in lines)
    path.write_bytes(gzip.compress(raw) if (gz if gz is not None else path.name.endswith(".gz")) else raw)
    return path


def core_snapshot(conninfo: str) -> dict[str, list[tuple]]:
    """The identity-dependent core tables, sorted."""
    with psycopg.connect(conninfo) as conn:
        return {t: sorted(map(tuple, conn.execute(f"select {cols} from {t}").fetchall()),
                          key=lambda r: tuple(str(v) for v in r)) for t, cols in STABLE_CORE.items()}


def persons(conninfo: str) -> dict[str, str | None]:
    """message_id → person."""
    with psycopg.connect(conninfo) as conn:
        return dict(conn.execute("select message_id, user_id from core.fact_events").fetchall())


def dau(conninfo: str) -> dict[date, int]:
    """activity_date → dau."""
    frame = read_table(conninfo, "daily_active_users")
    return dict(zip(frame["activity_date"], frame["dau"], strict=True))


# ---------------------------------------------------------------------------------------------------
# a late identify re-attributes last week's events
# ---------------------------------------------------------------------------------------------------


def late_identify_files(landing: Path) -> list[Path]:
    """Week 1: anonymous visits of device d1 (and user u9). Week 2: d1 identifies as u1 and signs up."""
    week1 = write(landing / "2024/03/week1.jsonl", [
        seg("page", "p1", "2024-03-01T10:00:00Z", anon="d1", name="Home", properties={"path": "/"}),
        seg("page", "p2", "2024-03-02T10:00:00Z", anon="d1", name="Pricing"),
        seg("screen", "s1", "2024-03-03T10:00:00Z", anon="d1", name="Welcome"),
        seg("track", "t1", "2024-03-04T10:00:00Z", anon="d1", event="feature_used", properties={"feature": "x"}),
        seg("track", "u9-1", "2024-03-04T11:00:00Z", user="u9", event="signed_up"),
    ])
    week2 = write(landing / "2024/03/week2.jsonl", [
        seg("identify", "i1", "2024-03-08T09:00:00Z", user="u1", anon="d1", traits={"email": "a@acme.io"}),
        seg("track", "t2", "2024-03-08T09:01:00Z", user="u1", event="signed_up", properties={"channel": "ads"}),
        seg("track", "t3", "2024-03-09T09:00:00Z", user="u1", event="subscription_started",
            properties={"plan": "pro", "mrr_cents": 5000}),
        seg("group", "g1", "2024-03-09T09:30:00Z", user="u1", groupId="acme", traits={"name": "Acme"}),
    ])
    return [week1, week2]


def test_a_late_identify_reattributes_last_weeks_events(warehouse_db, landing_dir, tmp_path):
    staged = tmp_path / "all"
    files = late_identify_files(staged)
    target = landing_dir / "2024/03"
    target.mkdir(parents=True)
    shutil.copy(files[0], target / files[0].name)
    run_pipeline(warehouse_db, landing_dir, run_id="week1")
    assert_matches_reference(warehouse_db, landing_dir)
    # by hand: d1 is nobody yet, so only u9 is active
    assert persons(warehouse_db) == {"p1": None, "p2": None, "s1": None, "t1": None, "u9-1": "u9"}
    assert dau(warehouse_db) == {date(2024, 3, 4): 1}

    shutil.copy(files[1], target / files[1].name)
    run_pipeline(warehouse_db, landing_dir, run_id="week2")
    assert_matches_reference(warehouse_db, landing_dir)
    assert persons(warehouse_db) == {"p1": "u1", "p2": "u1", "s1": "u1", "t1": "u1", "u9-1": "u9", "i1": "u1",
                                     "t2": "u1", "t3": "u1", "g1": "u1"}
    got = dau(warehouse_db)
    assert [got[date(2024, 3, d)] for d in range(1, 10)] == [1, 1, 1, 2, 0, 0, 0, 1, 1]
    with psycopg.connect(warehouse_db) as conn:
        user = conn.execute("select first_seen_at::date, signup_date, acquisition_channel, email_domain"
                            " from core.dim_users where user_id = 'u1'").fetchone()
        accounts = conn.execute("select account_id, account_name from core.dim_accounts").fetchall()
        members = conn.execute("select account_id, user_id from core.account_members").fetchall()
        adoption = conn.execute("select feature, unique_users from analytics.feature_adoption").fetchall()
    assert user == (date(2024, 3, 1), date(2024, 3, 8), "ads", "acme.io")
    assert accounts == [("acme", "Acme")] and members == [("acme", "u1")]
    assert adoption == [("x", 1)]

    # one run over both weeks gives the same core
    with psycopg.connect(warehouse_db) as conn:
        incremental = core_snapshot(warehouse_db)
    clean = _clean_run(warehouse_db, staged)
    assert clean == incremental


def _clean_run(conninfo: str, landing: Path) -> dict[str, list[tuple]]:
    """Core after one run over `landing` in a fresh database made from the same template."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(conninfo)
    name = params["dbname"] + "_clean"
    admin = make_conninfo(conninfo, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        template = conn.execute("select datname from pg_database where datname like 'saas_template_%'"
                                " order by oid desc limit 1").fetchone()[0]
        conn.execute(f'drop database if exists "{name}"')
        conn.execute(f'create database "{name}" template "{template}"')
    clean = make_conninfo(conninfo, dbname=name)
    try:
        run_pipeline(clean, landing, run_id="clean")
        assert_matches_reference(clean, landing)
        return core_snapshot(clean)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


# ---------------------------------------------------------------------------------------------------
# aliases, cycles, shared devices, anonymous-only visitors
# ---------------------------------------------------------------------------------------------------


def test_alias_chain_cycle_shared_device_and_anonymous_visitors(warehouse_db, landing_dir):
    write(landing_dir / "day1.ndjson", [
        # alias chain: a -> b, b -> c: a, b and c are one person, c
        seg("track", "a1", "2024-05-01T08:00:00Z", user="a", event="signed_up"),
        seg("alias", "al1", "2024-05-01T09:00:00Z", user="b", previousId="a"),
        seg("track", "b1", "2024-05-01T09:30:00Z", user="b", event="page_viewed"),
        seg("alias", "al2", "2024-05-01T10:00:00Z", user="c", previousId="b"),
        seg("page", "c1", "2024-05-01T11:00:00Z", user="c"),
        # cycle attempt: x -> y, then y -> x (y already resolves... x resolves to y, so y -> x is ignored)
        seg("alias", "cy1", "2024-05-01T12:00:00Z", user="y", previousId="x"),
        seg("alias", "cy2", "2024-05-01T13:00:00Z", user="x", previousId="y"),
        seg("page", "x1", "2024-05-01T14:00:00Z", user="x"),
        seg("page", "y1", "2024-05-01T14:00:00Z", user="y"),
        # shared device: dev first seen with u1, later with u2: the first link wins
        seg("identify", "sd1", "2024-05-01T15:00:00Z", user="u1", anon="dev"),
        seg("identify", "sd2", "2024-05-01T16:00:00Z", user="u2", anon="dev"),
        seg("page", "sd3", "2024-05-01T17:00:00Z", anon="dev"),
        seg("page", "sd4", "2024-05-01T17:00:00Z", user="u2"),
        # anonymous only: nobody, in core, in no metric
        seg("page", "g1", "2024-05-01T18:00:00Z", anon="ghost"),
        seg("track", "g2", "2024-05-01T18:01:00Z", anon="ghost", event="feature_used",
            properties={"feature": "export"}),
        # an anonymous id that is also some event's user id names that person
        seg("page", "k1", "2024-05-01T19:00:00Z", anon="kim"),
        seg("track", "k2", "2024-05-01T19:00:00Z", user="kim", event="page_viewed"),
    ])

    run_pipeline(warehouse_db, landing_dir)
    landed = assert_matches_reference(warehouse_db, landing_dir)

    assert landed.links == {"a": "b", "b": "c", "x": "y", "dev": "u1"}
    got = persons(warehouse_db)
    assert {m: got[m] for m in ["a1", "al1", "b1", "al2", "c1"]} == dict.fromkeys(["a1", "al1", "b1", "al2", "c1"], "c")
    assert {m: got[m] for m in ["cy1", "cy2", "x1", "y1"]} == dict.fromkeys(["cy1", "cy2", "x1", "y1"], "y")
    assert (got["sd1"], got["sd2"], got["sd3"], got["sd4"]) == ("u1", "u2", "u1", "u2")
    assert (got["g1"], got["g2"]) == (None, None)
    assert (got["k1"], got["k2"]) == ("kim", "kim")
    # active persons on May 1: c, y, u1, u2, kim (a, b, x and ghost are not persons)
    assert dau(warehouse_db) == {date(2024, 5, 1): 5}
    assert read_table(warehouse_db, "feature_adoption").empty  # ghost's use counts nowhere
    with psycopg.connect(warehouse_db) as conn:
        links = dict(conn.execute("select source_id, target_id from core.identity_links").fetchall())
        users = sorted(r[0] for r in conn.execute("select user_id from core.dim_users"))
    assert links == landed.links
    assert users == ["c", "kim", "u1", "u2", "y"]


def test_a_late_earlier_link_moves_a_device_to_another_person(warehouse_db, landing_dir, tmp_path):
    """Run 1: dev → u1. Run 2 brings an older link dev → u2: dev's events move from u1 to u2; u1 shrinks."""
    write(landing_dir / "b.jsonl", [
        seg("identify", "l1", "2024-06-02T10:00:00Z", user="u1", anon="dev"),
        seg("page", "v1", "2024-06-01T10:00:00Z", anon="dev"),
        seg("track", "v2", "2024-06-01T11:00:00Z", anon="dev", event="signed_up"),
        seg("page", "w1", "2024-06-03T10:00:00Z", user="u1"),
    ])
    run_pipeline(warehouse_db, landing_dir, run_id="r1")
    assert_matches_reference(warehouse_db, landing_dir)
    assert persons(warehouse_db)["v2"] == "u1"

    write(landing_dir / "c.jsonl", [seg("identify", "l0", "2024-05-30T10:00:00Z", user="u2", anon="dev")])
    run_pipeline(warehouse_db, landing_dir, run_id="r2")
    assert_matches_reference(warehouse_db, landing_dir)
    got = persons(warehouse_db)
    assert (got["v1"], got["v2"], got["l1"], got["w1"], got["l0"]) == ("u2", "u2", "u1", "u1", "u2")
    with psycopg.connect(warehouse_db) as conn:
        users = dict(conn.execute("select user_id, signup_date from core.dim_users").fetchall())
        days = sorted(conn.execute("select user_id, activity_date from core.fact_daily_user_activity").fetchall())
    assert users == {"u1": None, "u2": date(2024, 6, 1)}
    assert days == [("u1", date(2024, 6, 3)), ("u2", date(2024, 6, 1))]
    assert core_snapshot(warehouse_db) == _clean_run(warehouse_db, landing_dir)


def test_a_run_restitches_only_the_components_its_links_touch(warehouse_db, landing_dir):
    """Run 2's links merge two persons, bring an earlier link and a cycle attempt; dz's component is untouched."""
    write(landing_dir / "r1.jsonl", [
        seg("identify", "ia", "2024-08-01T10:00:00Z", user="ua", anon="da"),
        seg("identify", "ib", "2024-08-01T10:00:00Z", user="ub", anon="db"),
        seg("alias", "al1", "2024-08-01T12:00:00Z", user="uc", previousId="ub"),
        seg("identify", "iz", "2024-08-01T10:00:00Z", user="uz", anon="dz"),
        seg("page", "pa", "2024-08-01T09:00:00Z", anon="da"),
        seg("page", "pb", "2024-08-01T09:00:00Z", anon="db"),
        seg("page", "pz", "2024-08-01T09:00:00Z", anon="dz"),
    ])
    run_pipeline(warehouse_db, landing_dir, run_id="r1")
    assert_matches_reference(warehouse_db, landing_dir)
    with psycopg.connect(warehouse_db) as conn:
        mapped = dict(conn.execute("select id, person_id from core.identity_map").fetchall())
    # by hand: db -> ub -> uc
    assert mapped == {"da": "ua", "db": "uc", "ub": "uc", "dz": "uz"}

    write(landing_dir / "r2.jsonl", [
        seg("alias", "al2", "2024-08-01T13:00:00Z", user="ub", previousId="ua"),  # merges {da, ua} into uc
        seg("identify", "id0", "2024-08-01T08:00:00Z", user="ud", anon="db"),  # earlier than db -> ub: wins
        seg("alias", "al3", "2024-08-01T14:00:00Z", user="ua", previousId="uc"),  # ua resolves to uc: a cycle
        seg("page", "pd", "2024-08-01T15:00:00Z", user="ud"),
    ])
    run_pipeline(warehouse_db, landing_dir, run_id="r2")
    assert_matches_reference(warehouse_db, landing_dir)
    with psycopg.connect(warehouse_db) as conn:
        links = dict(conn.execute("select source_id, target_id from core.identity_links").fetchall())
        mapped = dict(conn.execute("select id, person_id from core.identity_map").fetchall())
    assert links == {"da": "ua", "ua": "ub", "ub": "uc", "db": "ud", "dz": "uz"}
    assert mapped == {"da": "uc", "ua": "uc", "ub": "uc", "db": "ud", "dz": "uz"}
    got = persons(warehouse_db)
    assert (got["pa"], got["pb"], got["pz"], got["ia"], got["ib"], got["id0"]) == ("uc", "ud", "uz", "uc", "uc", "ud")
    assert core_snapshot(warehouse_db) == _clean_run(warehouse_db, landing_dir)

    # the re-stitch reads and writes only the seeds' components: a map row lost in another one stays lost
    with psycopg.connect(warehouse_db) as conn, conn.transaction(force_rollback=True):
        conn.execute("delete from core.identity_map where id = 'dz'")
        assert conn.execute("select * from core.restitch_identity(array['ua'])").fetchall() == []
        assert conn.execute("select person_id from core.identity_map where id = 'dz'").fetchall() == []
        assert conn.execute("select * from core.restitch_identity(array['uz'])").fetchall() == [("dz", None, "uz")]
        assert conn.execute("select person_id from core.identity_map where id = 'dz'").fetchall() == [("uz",)]


# ---------------------------------------------------------------------------------------------------
# a Segment export in a Hive layout
# ---------------------------------------------------------------------------------------------------


def segment_export(landing: Path) -> None:
    """Hive folders with same-named files, a Segment-logs bare .gz, snake and camel spellings, every call type."""
    write(landing / "events/date=2024-07-01/part-0000.jsonl.gz", [
        seg("page", "h1", "2024-07-01T08:00:00Z", anon="anon-1", name="Landing",
            context={"campaign": {"source": "newsletter"}, "page": {"path": "/"}}),
        seg("identify", "h2", "2024-07-01T08:05:00Z", user="ana", anon="anon-1", traits={"company": "Initech"}),
        seg("track", "h3", "2024-07-01T08:06:00Z", user="ana", event="signed_up",
            context={"campaign": {"source": "newsletter"}}),
        {"message_id": "h4", "type": "track", "event": "feature_used", "user_id": "ana",
         "timestamp": "2024-07-01T09:00:00Z", "properties": {"feature": "search"}},  # snake_case
        {"messageId": "h5", "message_id": "ignored", "type": "track", "event": "feature_used", "userId": "bo",
         "user_id": "ana", "timestamp": "2024-07-01T09:30:00Z", "properties": {"feature": "search"}},  # camel wins
        seg("group", "h6", "2024-07-01T10:00:00Z", user="ana", groupId="initech", traits={"name": "Initech"}),
        seg("group", "h7", "2024-07-01T10:00:00Z", user="ana"),  # no groupId: quarantined
        seg("alias", "h8", "2024-07-01T10:00:00Z", user="ana"),  # no previousId: quarantined
        seg("screen", "h9", "2024-07-01T11:00:00Z", user="bo", name="Settings"),
        {"messageId": "h10", "type": "track", "event": "x", "timestamp": "2024-07-01T11:00:00Z"},  # no ids
    ])
    write(landing / "events/date=2024-07-02/part-0000.jsonl.gz", [
        seg("page", "h1", "2024-07-02T08:00:00Z", anon="anon-1"),  # duplicate messageId: counted, not loaded
        seg("track", "h11", "2024-07-02T08:00:00Z", user="bo", event="signed_up", properties={"channel": "seo"}),
        seg("track", "h12", "2024-07-02T09:00:00Z", user="ana", event="subscription_started",
            properties={"plan": "pro", "mrr_cents": 2900}),
    ])
    write(landing / "segment-logs/src1/1720051200000/f81d4fae.gz", [
        seg("track", "h13", "2024-07-03T08:00:00Z", user="bo", event="feature_used", properties={"feature": "x"}),
        seg("page", "h14", "2024-07-03T09:00:00Z", anon="anon-2"),
    ])
    write(landing / "events/date=2024-07-02/_SUCCESS", [])
    write(landing / "events/_temporary/part-0000.jsonl", [seg("page", "tmp1", "2024-07-02T08:00:00Z", user="zed")])
    write(landing / "events/.part-0001.jsonl.crc", ["x"])
    write(landing / "events/date=2024-07-02/.part-0001.jsonl",
          [seg("page", "tmp2", "2024-07-02T08:00:00Z", user="zed")])
    write(landing / "README.txt", ["not a landing file"])


def test_a_segment_export_in_a_hive_layout_matches_the_reference(warehouse_db, landing_dir):
    segment_export(landing_dir)

    run_pipeline(warehouse_db, landing_dir)
    landed = assert_matches_reference(warehouse_db, landing_dir)

    with psycopg.connect(warehouse_db) as conn:
        files = [r[0] for r in conn.execute("select file_name from raw.load_files order by file_id")]
        reasons = conn.execute("select f.file_name, q.line_no, q.reason from staging.quarantine as q"
                               " inner join raw.load_files as f using (file_id) order by 1, 2").fetchall()
        channels = dict(conn.execute("select user_id, acquisition_channel from core.dim_users").fetchall())
        staged = conn.execute("select sum(valid_events), sum(quarantined), sum(duplicates)"
                              " from staging.staged_files").fetchone()
        types = dict(conn.execute("select message_id, event_name from core.fact_events"
                                  " where event_type in ('page', 'screen')").fetchall())
    assert files == ["events/date=2024-07-01/part-0000.jsonl.gz", "events/date=2024-07-02/part-0000.jsonl.gz",
                     "segment-logs/src1/1720051200000/f81d4fae.gz"]
    assert reasons == [("events/date=2024-07-01/part-0000.jsonl.gz", 7, "missing_group_id"),
                       ("events/date=2024-07-01/part-0000.jsonl.gz", 8, "incomplete_alias"),
                       ("events/date=2024-07-01/part-0000.jsonl.gz", 10, "missing_user_id")]
    assert channels == {"ana": "newsletter", "bo": "seo"}
    assert tuple(staged) == (11, 3, 1) and landed.lines == 15
    assert types == {"h1": "page_viewed", "h9": "screen_viewed", "h14": "page_viewed"}
    assert persons(warehouse_db)["h5"] == "bo" and persons(warehouse_db)["h1"] == "ana"
    assert persons(warehouse_db)["h14"] is None
    # by hand: Jul 1 ana (h1 via anon-1, h3, h4) and bo (h5, h9); Jul 2 bo, ana; Jul 3 bo
    assert dau(warehouse_db) == {date(2024, 7, 1): 2, date(2024, 7, 2): 2, date(2024, 7, 3): 1}


def test_relanding_the_same_files_under_another_folder(warehouse_db, landing_dir):
    segment_export(landing_dir)
    run_pipeline(warehouse_db, landing_dir, run_id="first")
    before = persons(warehouse_db)
    # the same bytes again under a new folder: skipped as identical content
    shutil.copytree(landing_dir / "events", landing_dir / "backfill/events")
    # the same events re-exported into a different file: loaded, every line a duplicate by messageId
    original = gzip.decompress((landing_dir / "events/date=2024-07-02/part-0000.jsonl.gz").read_bytes())
    (landing_dir / "reexport").mkdir()
    (landing_dir / "reexport/day2.jsonl").write_bytes(original)

    from saas_analytics import loader

    report = loader.load_landing(warehouse_db, landing_dir, run_id="second")
    run_pipeline(warehouse_db, landing_dir, run_id="second")

    messages = {f.file_name: (f.status, f.message) for f in report.files}
    assert messages["backfill/events/date=2024-07-01/part-0000.jsonl.gz"] == (
        "skipped", "identical content already loaded as events/date=2024-07-01/part-0000.jsonl.gz")
    assert messages["reexport/day2.jsonl"][0] == "loaded"
    with psycopg.connect(warehouse_db) as conn:
        staged = conn.execute("select s.valid_events, s.quarantined, s.duplicates from staging.staged_files as s"
                              " inner join raw.load_files as f using (file_id)"
                              " where f.file_name = 'reexport/day2.jsonl'").fetchone()
    assert staged == (0, 0, 3)
    assert persons(warehouse_db) == before


# ---------------------------------------------------------------------------------------------------
# encoding and quarantine rules through staging
# ---------------------------------------------------------------------------------------------------


def test_encoding_cases_keep_events_and_quarantine_single_lines(warehouse_db, landing_dir):
    ok = {"messageId": "e1", "type": "track", "event": "page_viewed", "userId": "u",
          "timestamp": "2024-08-01T10:00:00Z"}
    lines = [
        json.dumps(ok).encode(),                                                   # 1: after a BOM
        b"",                                                                       # 2: blank, not counted
        json.dumps({**ok, "messageId": "e2", "properties": {"q": "a\u0000b"}}).encode(),  # 3: NUL escape: kept
        b'{"messageId": "e3", "type": "track", "n": NaN}',                        # 4: NaN: quarantined
        b"\xff\xfe not utf-8",                                                     # 5: not UTF-8: quarantined
        json.dumps({**ok, "messageId": "e4"}).encode(),                            # 6: neighbour loads
        b'{"messageId": "e5", "type": "track", "n": Infinity}',                   # 7: Infinity: quarantined
        json.dumps({**ok, "messageId": "e6", "type": "alias", "previousId": "p"}).encode(),  # 8: valid alias
        json.dumps({**ok, "messageId": "e7", "type": "group"}).encode(),           # 9: group without groupId
        json.dumps({**ok, "messageId": "e8", "userId": None}).encode(),            # 10: no user, no anonymous id
        b"   ",                                                                    # 11: blank
        json.dumps({**ok, "messageId": "e9"})[:-1].encode() + b', "p": "\\ud800"}',  # 12: lone surrogate
    ]
    (landing_dir / "day").mkdir()
    (landing_dir / "day/a.jsonl").write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n")

    run_pipeline(warehouse_db, landing_dir)
    landed = assert_matches_reference(warehouse_db, landing_dir)

    with psycopg.connect(warehouse_db) as conn:
        quarantined = conn.execute("select f.file_name, q.line_no, q.reason, q.detail from staging.quarantine as q"
                                   " inner join raw.load_files as f using (file_id) order by 2").fetchall()
        staged = conn.execute("select valid_events, quarantined, duplicates from staging.staged_files").fetchone()
        lines_read = conn.execute("select lines_read from raw.load_files").fetchone()[0]
        props = conn.execute("select properties from core.fact_events where message_id = 'e2'").fetchone()[0]
    assert [(f, n, r) for f, n, r, _ in quarantined] == [
        ("day/a.jsonl", 4, "invalid_json"), ("day/a.jsonl", 5, "invalid_utf8"), ("day/a.jsonl", 7, "invalid_json"),
        ("day/a.jsonl", 9, "missing_group_id"), ("day/a.jsonl", 10, "missing_user_id"),
        ("day/a.jsonl", 12, "invalid_json")]
    assert "NaN" in quarantined[0][3] and "UTF-8" in quarantined[1][3] and "surrogate" in quarantined[5][3]
    assert props == {"q": "a\ufffdb"}
    assert lines_read == 10 == landed.lines and tuple(staged) == (4, 6, 0)


def test_the_worked_example_of_docs_events_md(warehouse_db, landing_dir):
    """docs/events.md §5, by hand."""
    day1 = landing_dir / "segment-logs/src_web/1709424000000"
    write(day1 / "2f1c.gz", [
        seg("page", "m1", "2024-03-03T10:00:00Z", anon="anon-7", name="Pricing", properties={"path": "/pricing"}),
        seg("track", "m2", "2024-03-03T10:05:00Z", anon="anon-7", event="feature_used",
            properties={"feature": "export"}),
        seg("page", "m3", "2024-03-03T11:00:00Z", user="ana"),
        seg("track", "m4", "2024-03-03T12:00:00Z", user="bo", event="signed_up",
            context={"campaign": {"source": "newsletter"}}),
        seg("group", "m5", "2024-03-03T12:01:00Z", user="bo"),
    ])
    write(day1 / "_SUCCESS", [])
    run_pipeline(warehouse_db, landing_dir, run_id="r1")
    assert_matches_reference(warehouse_db, landing_dir)
    assert dau(warehouse_db) == {date(2024, 3, 3): 2}
    assert read_table(warehouse_db, "feature_adoption").empty

    write(landing_dir / "segment-logs/src_web/1710028800000/9a07.gz", [
        seg("identify", "m6", "2024-03-10T09:00:00Z", user="ana", anon="anon-7", traits={"email": "ana@acme.io"}),
        seg("page", "m3", "2024-03-03T11:00:00Z", user="ana"),
    ])
    run_pipeline(warehouse_db, landing_dir, run_id="r2")
    landed = assert_matches_reference(warehouse_db, landing_dir)

    assert landed.duplicates == 1
    assert dau(warehouse_db)[date(2024, 3, 3)] == 2
    adoption = read_table(warehouse_db, "feature_adoption")
    assert adoption[["feature", "unique_users"]].values.tolist() == [["export", 1]]
    assert float(adoption["adoption_rate"][0]) == 0.5
    with psycopg.connect(warehouse_db) as conn:
        ana = conn.execute("select first_seen_at, email_domain from core.dim_users where user_id = 'ana'").fetchone()
        bo = conn.execute("select acquisition_channel from core.dim_users where user_id = 'bo'").fetchone()
        reason = conn.execute("select f.file_name, q.line_no, q.reason from staging.quarantine as q"
                              " inner join raw.load_files as f using (file_id)").fetchall()
    assert (ana[0].isoformat(), ana[1]) == ("2024-03-03T10:00:00+00:00", "acme.io")
    assert bo == ("newsletter",)
    assert reason == [("segment-logs/src_web/1709424000000/2f1c.gz", 5, "missing_group_id")]


def test_a_warehouse_at_0003_upgrades_without_reloading(pg_server, landing_dir):
    """Registries of top-level files keep working (name = relative path); old events get sent_user_id."""
    from alembic import command
    from alembic.config import Config
    from psycopg.conninfo import make_conninfo

    from saas_analytics import loader, warehouse

    name = "saas_upgrade_0005"
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        warehouse.create_database(conn, name)
    conninfo = make_conninfo(pg_server["admin"], dbname=name)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(warehouse.__file__).parent / "migrations"))
    cfg.attributes["conninfo"] = conninfo
    cfg.attributes["reader_role"] = "analytics_reader"
    try:
        command.upgrade(cfg, "0003")
        path = write(landing_dir / "events_2026-06-01.jsonl.gz", [seg("track", "m1", "2026-06-01T10:00:00Z",
                                                                      user="u1", event="page_viewed")])
        with psycopg.connect(conninfo, autocommit=True) as conn:
            batch = conn.execute(
                "insert into raw.load_batches (run_id) values ('old') returning batch_id").fetchone()[0]
            conn.execute("insert into raw.load_files (file_name, sha256, size_bytes, batch_id, lines_read,"
                         " lines_loaded, lines_rejected, load_seconds) values (%s, %s, 1, %s, 1, 1, 0, 0)",
                         [path.name, loader.file_sha256(path), batch])
            conn.execute(
                "insert into core.dim_users (user_id, first_seen_at, last_seen_at) values ('u1', now(), now())")
            conn.execute("insert into core.fact_events (message_id, user_id, event_type, event_name, event_at,"
                         " event_date, properties, file_id, line_no) values ('m1', 'u1', 'track', 'page_viewed',"
                         " '2026-06-01T10:00:00Z', '2026-06-01', '{}', 1, 1)")
            conn.execute("insert into core.fact_daily_user_activity values ('u1', '2026-06-01', 1, 0, 0, 0,"
                         " '2026-06-01T10:00:00Z', '2026-06-01T10:00:00Z', 'web')")

        command.upgrade(cfg, "head")

        report = loader.load_landing(conninfo, landing_dir)
        assert [(f.file_name, f.status, f.message) for f in report.files] == [
            ("events_2026-06-01.jsonl.gz", "skipped", "already loaded")]
        with psycopg.connect(conninfo) as conn:
            assert conn.execute("select user_id, sent_user_id, anonymous_id from core.fact_events").fetchall() == [
                ("u1", "u1", None)]
            assert conn.execute("select activity_events, track_events from core.fact_daily_user_activity"
                                ).fetchall() == [(1, 1)]
    finally:
        with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def test_an_account_is_named_by_its_latest_group_call_in_two_runs_as_in_one(warehouse_db, landing_dir):
    """Acme is named in June; a July group call carries other traits and no name. The account then has no name
    and July's traits (docs/metrics.md: the latest group call's `traits.name`), as one run over both files gives;
    the incremental merge used to keep June's name."""
    write(landing_dir / "june.jsonl", [seg("group", "g1", "2024-06-01T10:00:00Z", user="u1", groupId="acme",
                                           traits={"name": "Acme"})])
    run_pipeline(warehouse_db, landing_dir, run_id="june")
    accounts = "select account_id, account_name, traits from core.dim_accounts"
    with psycopg.connect(warehouse_db) as conn:
        assert conn.execute(accounts).fetchall() == [("acme", "Acme", {"name": "Acme"})]
    write(landing_dir / "july.jsonl", [seg("group", "g2", "2024-07-01T10:00:00Z", user="u1", groupId="acme",
                                           traits={"plan": "pro"})])
    run_pipeline(warehouse_db, landing_dir, run_id="july")
    with psycopg.connect(warehouse_db) as conn:
        assert conn.execute(accounts).fetchall() == [("acme", None, {"plan": "pro"})]
    assert core_snapshot(warehouse_db) == _clean_run(warehouse_db, landing_dir)


def test_a_plan_is_described_by_all_its_subscription_events_in_two_runs_as_in_one(warehouse_db, landing_dir):
    """Pro is first bought annual in June, then monthly in July. Its row is the one a single run over both files
    gives: billing period the greatest ('monthly' > 'annual', as `max` takes it), MRR 833…2,900 cents, first seen in
    June; the incremental merge used to keep the first run's period."""
    def started(mid: str, ts: str, user: str, period: str, mrr_cents: int) -> dict:
        return seg("track", mid, ts, user=user, event="subscription_started",
                   properties={"plan": "pro", "billing_period": period, "mrr_cents": mrr_cents})

    write(landing_dir / "june.jsonl", [started("s1", "2024-06-01T10:00:00Z", "u1", "annual", 833)])
    run_pipeline(warehouse_db, landing_dir, run_id="june")
    write(landing_dir / "july.jsonl", [started("s2", "2024-07-01T10:00:00Z", "u2", "monthly", 2900)])
    run_pipeline(warehouse_db, landing_dir, run_id="july")
    with psycopg.connect(warehouse_db) as conn:
        assert conn.execute("select plan, billing_period, min_mrr_cents, max_mrr_cents, first_seen_at::text"
                            " from core.dim_plans").fetchall() == [("pro", "monthly", 833, 2900,
                                                                    "2024-06-01 10:00:00+00")]
    assert core_snapshot(warehouse_db) == _clean_run(warehouse_db, landing_dir)


def test_a_document_first_opened_before_a_late_identify_names_that_person_in_two_runs_as_in_one(
        warehouse_db, landing_dir):
    """A visitor opens d1 at 9:00 (nobody yet), u2 opens it at 10:00; the next day's identify names the visitor
    u1: d1's first user is u1 at 9:00. Device dev2 (u3 by a noon identify) opens d2 at 11:00; the next day brings an
    earlier identify (8:00, u4), which wins: d2's first event is the same one, now u4's. As one run gives; the
    merge used to read only a run's new events (u2 at 10:00, and u3)."""
    def opened(mid: str, ts: str, document_id: str, **who: str) -> dict:
        return seg("track", mid, ts, event="document_opened", properties={"document_id": document_id}, **who)

    write(landing_dir / "day1.jsonl", [
        opened("o1", "2024-06-01T09:00:00Z", "d1", anon="dev"), opened("o2", "2024-06-01T10:00:00Z", "d1", user="u2"),
        opened("o3", "2024-06-01T11:00:00Z", "d2", anon="dev2"),
        seg("identify", "l3", "2024-06-01T12:00:00Z", user="u3", anon="dev2")])
    run_pipeline(warehouse_db, landing_dir, run_id="day1")
    documents = "select document_id, first_user_id, first_event_at::text from core.dim_documents order by 1"
    with psycopg.connect(warehouse_db) as conn:
        assert conn.execute(documents).fetchall() == [("d1", "u2", "2024-06-01 10:00:00+00"),
                                                      ("d2", "u3", "2024-06-01 11:00:00+00")]
    write(landing_dir / "day2.jsonl", [seg("identify", "i1", "2024-06-02T09:00:00Z", user="u1", anon="dev"),
                                       seg("identify", "l4", "2024-06-01T08:00:00Z", user="u4", anon="dev2")])
    run_pipeline(warehouse_db, landing_dir, run_id="day2")
    with psycopg.connect(warehouse_db) as conn:
        assert conn.execute(documents).fetchall() == [("d1", "u1", "2024-06-01 09:00:00+00"),
                                                      ("d2", "u4", "2024-06-01 11:00:00+00")]
    assert core_snapshot(warehouse_db) == _clean_run(warehouse_db, landing_dir)
