"""Defect 5: corrections never arrived (a re-landed correction was all duplicates). `files replace` / `forget`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from ops_helpers import rows, track, write_events
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pipeline_helpers import assert_matches_reference, run_pipeline, write_corrected_day
from saas_analytics import files, transform

# every core table a run writes (core.funnel_steps is configuration synced from funnels YAML, not data)
CORE_TABLES = ("dim_users", "dim_features", "dim_documents", "dim_plans", "dim_accounts", "account_members",
               "identity_link_candidates", "identity_links", "identity_map", "fact_events",
               "fact_subscription_events", "fact_sessions", "fact_daily_user_activity", "fact_mrr_monthly",
               *(step for step in transform.LAYER_STEPS["core"] if step.startswith("agg_")))
CONTRACT_VIEWS = ("daily_active_users", "user_retention_cohorts", "feature_adoption", "mrr_monthly",
                  "platform_daily_activity")
PROCESSING_TIMES = ("updated_at", "staged_at", "loaded_at")  # when a row was (re)written, not what it says


def snapshot(conninfo: str) -> dict[str, list[str]]:
    """Every row of every core table and contract analytics view, without processing timestamps."""
    out = {}
    with psycopg.connect(conninfo) as conn:
        for schema, names in (("core", CORE_TABLES), ("analytics", CONTRACT_VIEWS)):
            for name in names:
                drop = sql.SQL(" ").join(sql.SQL("- {}").format(sql.Literal(c)) for c in PROCESSING_TIMES)
                query = sql.SQL("select (to_jsonb(t) {})::text from {} as t").format(drop, sql.Identifier(schema, name))
                out[f"{schema}.{name}"] = sorted(r[0] for r in conn.execute(query))
    return out


def assert_same(got: dict, want: dict) -> None:
    for table in want:
        assert got[table] == want[table], f"{table}: {len(got[table])} rows vs {len(want[table])}"


@pytest.fixture
def other_warehouse(pg_server: dict, migrated_template: str) -> Iterator[str]:
    """A second fresh warehouse (for a clean run to compare with)."""
    name = f"saas_clean_{os.getpid()}"
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                      sql.Identifier(migrated_template)))
    yield make_conninfo(pg_server["admin"], dbname=name)
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def subscription(message_id: str, user: str, day: str, mrr_cents: int) -> dict:
    return track(message_id, user, day, event="subscription_started", plan="pro", mrr_cents=mrr_cents)


def test_reproduce_a_correction_landed_under_a_new_name_is_thrown_away(warehouse_db: str, landing_dir: Path) -> None:
    write_events(landing_dir / "events_2026-06-01.jsonl.gz",
                 [track("s0", "u1", "2026-06-01", event="signed_up"), subscription("s1", "u1", "2026-06-01", 1000)])
    run_pipeline(warehouse_db, landing_dir, "run-1")
    write_events(landing_dir / "events_2026-06-01-fix.jsonl.gz", [subscription("s1", "u1", "2026-06-01", 2000)])
    run_pipeline(warehouse_db, landing_dir, "run-2")
    assert rows(warehouse_db, "select mrr from analytics.mrr_monthly") == [(10,)]  # the corrected 20.00 is lost
    assert rows(warehouse_db, "select duplicates from staging.staged_files order by file_id") == [(0,), (1,)]


def test_replace_brings_the_corrected_value_to_the_analytics(warehouse_db: str, landing_dir: Path) -> None:
    path = write_events(landing_dir / "events_2026-06-01.jsonl.gz",
                        [track("s0", "u1", "2026-06-01", event="signed_up"),
                         subscription("s1", "u1", "2026-06-01", 1000),
                         track("f1", "u2", "2026-06-01", feature="typo_feature")])
    run_pipeline(warehouse_db, landing_dir, "run-1")
    before = snapshot(warehouse_db)
    original = path.read_bytes()

    write_events(path, [track("s0", "u1", "2026-06-01", event="signed_up"),
                        subscription("s1", "u1", "2026-06-01", 2000),
                        track("f1", "u1", "2026-06-01", feature="comments")])
    result = files.correct(warehouse_db, path.name, "replace", landing_dir, by="alice")
    transform.refresh_analytics(warehouse_db)
    assert (result.events_withdrawn, result.events_loaded, result.users_rebuilt) == (3, 3, 2)
    assert rows(warehouse_db, "select mrr from analytics.mrr_monthly") == [(20,)]
    assert rows(warehouse_db, "select feature, unique_users from analytics.feature_adoption") == [("comments", 1)]
    assert rows(warehouse_db, "select dau from analytics.daily_active_users") == [(1,)]
    assert rows(warehouse_db, "select feature from core.dim_features") == [("comments",)]
    assert rows(warehouse_db, "select file_name, action, corrected_by, events_withdrawn, events_loaded"
                " from analytics.file_corrections") == [(path.name, "replace", "alice", 3, 3)]
    transform.run_data_tests(warehouse_db, ("raw", "staging", "core", "analytics"))

    path.write_bytes(original)
    files.correct(warehouse_db, path.name, "replace", landing_dir, by="alice")
    transform.refresh_analytics(warehouse_db)
    assert_same(snapshot(warehouse_db), before)


def test_replace_on_simulated_data_equals_a_clean_run_and_replacing_back_restores_everything(
        warehouse_db: str, other_warehouse: str, tmp_path: Path) -> None:
    from saas_analytics.simulator import SimulationConfig, simulate

    landing = tmp_path / "landing"
    simulate(SimulationConfig(days=8, users=80, seed=11, duplicate_rate=0.05, late_rate=0.05), landing)
    run_pipeline(warehouse_db, landing, "run-1")
    before = snapshot(warehouse_db)
    target = sorted(landing.rglob("*.jsonl.gz"))[3]  # Segment layout: date=YYYY-MM-DD/events.jsonl.gz
    name = target.relative_to(landing).as_posix()  # a file's identity is its path relative to the landing folder
    original = target.read_bytes()

    # the correction: a fifth of the day's lines withdrawn, every feature_used renamed
    write_corrected_day(target)

    result = files.correct(warehouse_db, name, "replace", landing, by="bob")
    assert result.events_withdrawn > 0 and result.users_rebuilt > 0
    transform.refresh_analytics(warehouse_db)
    transform.run_data_tests(warehouse_db, ("raw", "staging", "core", "analytics"))
    assert_matches_reference(warehouse_db, landing)  # the independent pandas oracle, on the corrected files
    assert rows(warehouse_db, "select count(*) > 0 from analytics.feature_adoption"
                " where feature = 'renamed_feature'") == [(True,)]
    run_pipeline(other_warehouse, landing, "clean")
    assert_same(snapshot(warehouse_db), snapshot(other_warehouse))

    target.write_bytes(original)
    files.correct(warehouse_db, name, "replace", landing, by="bob")
    transform.refresh_analytics(warehouse_db)
    assert_same(snapshot(warehouse_db), before)
    assert rows(warehouse_db, "select count(*) from analytics.file_corrections") == [(2,)]


def test_forget_withdraws_a_file_from_every_layer(warehouse_db: str, landing_dir: Path) -> None:
    write_events(landing_dir / "events_2026-06-01.jsonl.gz", [track("a1", "u1", "2026-06-01")])
    bad = write_events(landing_dir / "events_2026-06-02.jsonl.gz", [track("b1", "u2", "2026-06-02")])
    run_pipeline(warehouse_db, landing_dir, "run-1")
    bad.unlink()
    files.correct(warehouse_db, bad.name, "forget", landing_dir, by="carol")
    transform.refresh_analytics(warehouse_db)
    assert rows(warehouse_db, "select file_name from raw.load_files") == [("events_2026-06-01.jsonl.gz",)]
    assert rows(warehouse_db, "select user_id from core.dim_users") == [("u1",)]
    assert rows(warehouse_db, "select activity_date::text, dau from analytics.daily_active_users") == [
        ("2026-06-01", 1)]
    with pytest.raises(files.FileError, match="not a loaded file"):
        files.correct(warehouse_db, bad.name, "forget", landing_dir)


def segment(kind: str, message_id: str, ts: str, user: str | None = None, anon: str | None = None, **extra) -> dict:
    """A Segment-style (camelCase) call."""
    line = {"messageId": message_id, "type": kind, "timestamp": ts, **extra}
    line.update({k: v for k, v in (("userId", user), ("anonymousId", anon)) if v is not None})
    return line


def test_withdrawn_identity_links_move_the_events_they_attributed(
        warehouse_db: str, other_warehouse: str, landing_dir: Path) -> None:
    """A device's earliest link (dev → u2) sits in the corrected file: its events, subscription, group call and
    MRR move with the link (to u3 on replace, back to the later link's u1 on forget), as in a clean run."""
    write_events(landing_dir / "a.jsonl", [
        segment("identify", "l1", "2024-06-02T10:00:00Z", user="u1", anon="dev"),
        segment("page", "v1", "2024-06-01T10:00:00Z", anon="dev"),
        segment("track", "v2", "2024-06-01T11:00:00Z", anon="dev", event="signed_up"),
        segment("track", "v3", "2024-06-01T11:10:00Z", anon="dev", event="subscription_started",
                properties={"plan": "pro", "billing_period": "monthly", "mrr_cents": 1000}),
        segment("page", "w1", "2024-07-03T10:00:00Z", user="u1"),
    ])
    corrected = landing_dir / "date=2024-05-30" / "events.jsonl"
    write_events(corrected, [
        segment("identify", "l0", "2024-05-30T10:00:00Z", user="u2", anon="dev"),
        segment("group", "g0", "2024-05-30T11:00:00Z", anon="dev", groupId="acme", traits={"name": "Acme"}),
    ])
    run_pipeline(warehouse_db, landing_dir, "run-1")
    assert rows(warehouse_db, "select message_id, user_id from core.fact_events where left(message_id, 1) = 'v'"
                " order by 1") == [("v1", "u2"), ("v2", "u2"), ("v3", "u2")]

    write_events(corrected, [
        segment("identify", "l0", "2024-05-30T10:00:00Z", user="u3", anon="dev"),
        segment("group", "g0", "2024-05-30T11:00:00Z", anon="dev", groupId="acme", traits={"name": "Acme"}),
    ])
    files.correct(warehouse_db, "date=2024-05-30/events.jsonl", "replace", landing_dir, by="erin")
    transform.refresh_analytics(warehouse_db)
    assert rows(warehouse_db, "select user_id from core.fact_subscription_events") == [("u3",)]
    assert rows(warehouse_db, "select account_id, user_id from core.account_members") == [("acme", "u3")]
    run_pipeline(other_warehouse, landing_dir, "clean")
    assert_same(snapshot(warehouse_db), snapshot(other_warehouse))

    corrected.unlink()
    files.correct(warehouse_db, "date=2024-05-30/events.jsonl", "forget", landing_dir, by="erin")
    transform.refresh_analytics(warehouse_db)
    assert rows(warehouse_db, "select message_id, user_id from core.fact_events order by 1") == [
        ("l1", "u1"), ("v1", "u1"), ("v2", "u1"), ("v3", "u1"), ("w1", "u1")]
    assert rows(warehouse_db, "select id, person_id from core.identity_map") == [("dev", "u1")]
    assert rows(warehouse_db, "select source_id, target_id, message_id from core.identity_link_candidates") == [
        ("dev", "u1", "l1")]
    assert rows(warehouse_db, "select user_id, signup_date::text from core.dim_users") == [("u1", "2024-06-01")]
    assert rows(warehouse_db, "select user_id from core.fact_subscription_events") == [("u1",)]
    assert rows(warehouse_db, "select month::text, user_id, mrr_cents from core.fact_mrr_monthly order by 1") == [
        ("2024-06-01", "u1", 1000), ("2024-07-01", "u1", 1000)]
    assert rows(warehouse_db, "select user_id, activity_date::text from core.fact_daily_user_activity"
                " order by 2") == [("u1", "2024-06-01"), ("u1", "2024-07-03")]
    assert rows(warehouse_db, "select user_id, events from core.fact_sessions order by started_at") == [
        ("u1", 1), ("u1", 2), ("u1", 1)]  # 10:00 | 11:00, 11:10 | July
    assert rows(warehouse_db, "select count(*) from core.dim_accounts") == [(0,)]
    assert rows(warehouse_db, "select count(*) from core.account_members") == [(0,)]


def test_replace_reads_the_new_lines_objects_from_raw(warehouse_db: str, landing_dir: Path) -> None:
    """Staging keeps no copy of properties, traits or context (issue 10): after a replace, core's properties,
    the person's traits and acquisition channel and the account's name come from the corrected lines."""
    path = landing_dir / "a.jsonl"
    write_events(path, [
        segment("identify", "i1", "2026-06-01T09:00:00Z", user="u1", traits={"company": "Old Co", "email": "a@old.io"}),
        segment("track", "s1", "2026-06-01T09:01:00Z", user="u1", event="signed_up",
                context={"campaign": {"source": "ads"}}),
        segment("group", "g1", "2026-06-01T09:02:00Z", user="u1", groupId="acc1", traits={"name": "Old Account"}),
        segment("track", "f1", "2026-06-01T09:03:00Z", user="u1", event="feature_used",
                properties={"feature": "editor", "document_id": "d1"}, context={"platform": "web"}),
    ])
    run_pipeline(warehouse_db, landing_dir, "run-1")
    assert rows(warehouse_db, "select company, email_domain, acquisition_channel, first_platform"
                " from core.dim_users") == [("Old Co", "old.io", "ads", "web")]
    assert rows(warehouse_db, "select account_name from core.dim_accounts") == [("Old Account",)]

    # the same message ids, new objects; a non-object context and snake_case keys are read as staging reads them
    write_events(path, [
        {"message_id": "i1", "type": "identify", "user_id": "u1", "timestamp": "2026-06-01T09:00:00Z",
         "traits": {"company": "New Co", "email": "a@new.io"}},
        segment("track", "s1", "2026-06-01T09:01:00Z", user="u1", event="signed_up",
                context={"campaign": {"source": "newsletter"}}),
        segment("group", "g1", "2026-06-01T09:02:00Z", user="u1", groupId="acc1", traits={"name": "New Account"}),
        segment("track", "f1", "2026-06-01T09:03:00Z", user="u1", event="feature_used",
                properties={"feature": "search", "document_id": "d2"}, context="not an object"),
    ])
    files.correct(warehouse_db, path.name, "replace", landing_dir, by="dana")
    assert rows(warehouse_db, "select company, email_domain, acquisition_channel, first_platform"
                " from core.dim_users") == [("New Co", "new.io", "newsletter", None)]
    assert rows(warehouse_db, "select account_name, traits from core.dim_accounts") == [
        ("New Account", {"name": "New Account"})]
    assert rows(warehouse_db, "select message_id, feature, document_id, platform, properties from core.fact_events"
                " where event_name = 'feature_used'") == [
        ("f1", "search", "d2", None, {"feature": "search", "document_id": "d2"})]
    assert rows(warehouse_db, "select count(*) from staging.events") == [(4,)]


def test_a_corrected_segment_file_wins_back_the_ids_it_now_carries(
        warehouse_db: str, other_warehouse: str, landing_dir: Path) -> None:
    """A replaced file's new lines in Segment's camelCase (`messageId`) re-decide which copy of each id wins:
    the corrected file loaded first keeps its place, so its copy of m1 beats the later file's, as in a clean run."""
    first = landing_dir / "a.jsonl"
    write_events(first, [segment("track", "a1", "2026-06-01T09:00:00Z", user="u1", event="opened")])
    write_events(landing_dir / "b.jsonl", [segment("track", "m1", "2026-06-02T09:00:00Z", user="u2", event="opened")])
    run_pipeline(warehouse_db, landing_dir, "run-1")

    write_events(first, [segment("track", "a1", "2026-06-01T09:00:00Z", user="u1", event="opened"),
                         segment("track", "m1", "2026-06-01T10:00:00Z", user="u1", event="opened")])
    files.correct(warehouse_db, first.name, "replace", landing_dir, by="erin")
    transform.refresh_analytics(warehouse_db)

    assert rows(warehouse_db, "select message_id, user_id, event_date::text from core.fact_events order by 1") == [
        ("a1", "u1", "2026-06-01"), ("m1", "u1", "2026-06-01")]
    assert rows(warehouse_db, "select activity_date::text, dau from analytics.daily_active_users"
                " order by 1") == [("2026-06-01", 1)]
    run_pipeline(other_warehouse, landing_dir, "clean")
    assert_same(snapshot(warehouse_db), snapshot(other_warehouse))


def test_a_document_rebuilt_after_a_correction_counts_the_events_of_persons_only(
        warehouse_db: str, other_warehouse: str, landing_dir: Path) -> None:
    """A document first opened by nobody (an anonymous id no identify ever named), then by u1: its first user and
    first time are u1's in a run and after a correction touches it (the rebuild counted nobody's event too)."""
    opened = {"feature": "editor", "document_id": "d1"}
    write_events(landing_dir / "a.jsonl", [
        segment("track", "n1", "2024-06-01T09:00:00Z", anon="ghost", event="document_opened", properties=opened)])
    corrected = landing_dir / "b.jsonl"
    write_events(corrected, [
        segment("track", "p1", "2024-06-01T10:00:00Z", user="u1", event="document_opened", properties=opened)])
    run_pipeline(warehouse_db, landing_dir, "run-1")
    by_hand = [("d1", "u1", "2024-06-01 10:00:00+00")]
    documents = "select document_id, first_user_id, first_event_at::text from core.dim_documents"
    assert rows(warehouse_db, documents) == by_hand

    write_events(corrected, [
        segment("track", "p1", "2024-06-01T10:00:00Z", user="u1", event="document_opened", properties=opened),
        segment("track", "p2", "2024-06-01T11:00:00Z", user="u1", event="document_opened", properties=opened)])
    files.correct(warehouse_db, corrected.name, "replace", landing_dir, by="erin")
    transform.refresh_analytics(warehouse_db)
    assert rows(warehouse_db, documents) == by_hand
    run_pipeline(other_warehouse, landing_dir, "clean")
    assert_same(snapshot(warehouse_db), snapshot(other_warehouse))


def test_a_plan_rebuilt_after_a_correction_is_described_by_the_same_events_as_in_a_run(
        warehouse_db: str, other_warehouse: str, landing_dir: Path) -> None:
    """A visitor nobody ever identified starts Team at 5.00 at 8:00 (a plan's row reads every subscription event,
    a person's or not, sql/core/dim_plans.sql), u1 at 9.00 at 9:00; the correction raises u1's price to 9.50.
    Team is then 500…950 cents, first seen at 8:00, as a clean run over the corrected files gives (the rebuild read
    only persons' subscription facts: 950…950 from 9:00)."""
    def started(mid: str, ts: str, mrr_cents: int, **who: str) -> dict:
        return segment("track", mid, ts, event="subscription_started",
                       properties={"plan": "team", "billing_period": "monthly", "mrr_cents": mrr_cents}, **who)

    write_events(landing_dir / "a.jsonl", [started("n1", "2024-06-01T08:00:00Z", 500, anon="ghost")])
    corrected = landing_dir / "b.jsonl"
    write_events(corrected, [started("p1", "2024-06-01T09:00:00Z", 900, user="u1")])
    run_pipeline(warehouse_db, landing_dir, "run-1")
    plans = "select plan, billing_period, min_mrr_cents, max_mrr_cents, first_seen_at::text from core.dim_plans"
    assert rows(warehouse_db, plans) == [("team", "monthly", 500, 900, "2024-06-01 08:00:00+00")]

    write_events(corrected, [started("p1", "2024-06-01T09:00:00Z", 950, user="u1")])
    files.correct(warehouse_db, corrected.name, "replace", landing_dir, by="erin")
    transform.refresh_analytics(warehouse_db)
    assert rows(warehouse_db, plans) == [("team", "monthly", 500, 950, "2024-06-01 08:00:00+00")]
    run_pipeline(other_warehouse, landing_dir, "clean")
    assert_same(snapshot(warehouse_db), snapshot(other_warehouse))
