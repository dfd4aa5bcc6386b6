"""The numbers do not depend on the server's time zone: DESIGN.md's dates are UTC, its windows elapsed time.

An embedded server initialised on a laptop set to America/New_York, or a `DATABASE_URL` server set to local time,
gives every session that `timezone`. Each test here sets it on the warehouse database (so every connection the
pipeline opens uses it) and expects what a UTC server gives, worked out by hand from the contract.
"""

from __future__ import annotations

import json
from datetime import UTC, date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from test_product_analytics import assert_product_matches_reference

from pipeline_helpers import assert_matches_reference, run_pipeline
from saas_analytics.simulator import SimulationConfig, simulate

NEW_YORK = "America/New_York"  # daylight saving from 2025-03-09 to 2025-11-02, and from 2026-03-08


def set_time_zone(conninfo: str, zone: str) -> None:
    """Give every new session of the database `zone` as its time zone, as such a server's default would."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("alter database {} set timezone to {}").format(
            sql.Identifier(conn.info.dbname), sql.Literal(zone)))


def write_lines(landing: Path, name: str, lines: list[dict]) -> None:
    """One landing file of JSON lines."""
    (landing / name).write_text("".join(json.dumps(line) + "\n" for line in lines))


def track(mid: str, user: str, ts: str, event: str, **properties: object) -> dict:
    """A track call."""
    return {"message_id": mid, "type": "track", "event": event, "user_id": user, "timestamp": ts,
            "properties": properties}


def identify(mid: str, user: str, ts: str) -> dict:
    """An identify call (not activity; it only moves data_through)."""
    return {"message_id": mid, "type": "identify", "user_id": user, "timestamp": ts}


def activation(conninfo: str, month: str) -> list[tuple]:
    """(step, entered, eligible, in progress, reached, median seconds) of the activation funnel's month."""
    with psycopg.connect(conninfo) as conn:
        return conn.execute(
            "select step, entered_users, eligible_users, in_progress_users, reached_users,"
            " median_seconds_to_step::float from analytics.funnel_conversion"
            " where funnel = 'activation' and cohort_month = %s order by step", [month]).fetchall()


@pytest.mark.parametrize("zone", ["UTC", NEW_YORK])
def test_a_funnel_window_is_elapsed_time_across_the_spring_change(warehouse_db: str, landing_dir: Path,
                                                                   zone: str) -> None:
    set_time_zone(warehouse_db, zone)
    write_lines(landing_dir, "2025-03.jsonl", [
        # f1 enters 03-01T00:00Z; its window (14 d = 1,209,600 s) ends 03-15T00:00Z, when its document comes
        track("s1", "f1", "2025-03-01T00:00:00Z", "signed_up"),
        track("s2", "f1", "2025-03-15T00:00:00Z", "document_created"),
        # e1 enters 03-02T00:00Z; its window ends 03-16T00:00Z, after data_through: in progress
        track("s3", "e1", "2025-03-02T00:00:00Z", "signed_up"),
        identify("s4", "e1", "2025-03-15T23:30:00Z"),  # data_through
    ])
    run_pipeline(warehouse_db, landing_dir)
    # entered 2; eligible f1 (03-15T00:00Z ≤ 03-15T23:30Z) = 1; step 2 reached by f1 at exactly t1 + window
    assert activation(warehouse_db, "2025-03-01") == [
        (1, 2, 1, 1, 1, 0.0), (2, 2, 1, 1, 1, 1_209_600.0), (3, 2, 1, 1, 0, None)]
    with psycopg.connect(warehouse_db) as conn:
        ends = conn.execute("select user_id, window_ends_at from analytics.funnel_user_steps"
                            " where funnel = 'activation' and step = 1 order by user_id").fetchall()
    assert [(user, at.astimezone(UTC).isoformat()) for user, at in ends] == [
        ("e1", "2025-03-16T00:00:00+00:00"), ("f1", "2025-03-15T00:00:00+00:00")]


@pytest.mark.parametrize("zone", ["UTC", NEW_YORK])
def test_a_funnel_window_is_elapsed_time_across_the_autumn_change(warehouse_db: str, landing_dir: Path,
                                                                   zone: str) -> None:
    set_time_zone(warehouse_db, zone)
    write_lines(landing_dir, "2025-10.jsonl", [
        # g1 enters 10-25T00:00Z; its window ends 11-08T00:00Z; the document 30 minutes later is outside it
        track("o1", "g1", "2025-10-25T00:00:00Z", "signed_up"),
        track("o2", "g1", "2025-11-08T00:30:00Z", "document_created"),
        identify("o3", "g1", "2025-11-20T00:00:00Z"),  # data_through: g1 is eligible
    ])
    run_pipeline(warehouse_db, landing_dir)
    assert activation(warehouse_db, "2025-10-01") == [
        (1, 1, 1, 0, 1, 0.0), (2, 1, 1, 0, 0, None), (3, 1, 1, 0, 0, None)]


@pytest.mark.parametrize("zone", ["UTC", NEW_YORK])
def test_paid_within_30_days_is_720_hours_after_the_signup(warehouse_db: str, landing_dir: Path,
                                                           zone: str) -> None:
    set_time_zone(warehouse_db, zone)
    write_lines(landing_dir, "2025-03.jsonl", [
        # h1 pays exactly 30 × 86,400 s after signing up (across New York's spring change): paid
        track("a1", "h1", "2025-03-01T00:00:00Z", "signed_up", channel="ads"),
        track("a2", "h1", "2025-03-31T00:00:00Z", "subscription_started", plan="pro", mrr_cents=7900),
        # k1 pays one second later than that: not paid
        track("a3", "k1", "2025-03-01T00:00:00Z", "signed_up", channel="ads"),
        track("a4", "k1", "2025-03-31T00:00:01Z", "subscription_started", plan="pro", mrr_cents=7900),
    ])
    run_pipeline(warehouse_db, landing_dir)
    with psycopg.connect(warehouse_db) as conn:
        got = conn.execute("select signups, paid_users from analytics.acquisition_monthly"
                           " where signup_month = '2025-03-01' and channel = 'ads'").fetchall()
    assert got == [(2, 1)]


def test_simulated_weeks_across_new_yorks_spring_change_match_the_reference(
        warehouse_db: str, landing_dir: Path) -> None:
    """Every metric and product object the pandas references compute, on a server set to New York's time."""
    set_time_zone(warehouse_db, NEW_YORK)
    simulate(SimulationConfig(days=50, users=250, seed=11, start=date(2026, 2, 20)),
             landing_dir)
    run_pipeline(warehouse_db, landing_dir)
    assert_matches_reference(warehouse_db, landing_dir)
    assert_product_matches_reference(warehouse_db, landing_dir)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_a_window_ending_between_two_runs_recounts_its_month(warehouse_db: str, landing_dir: Path,
                                                              zone: str) -> None:
    """A month's counts are redone when data_through passes one of its entrants' window ends, east of UTC too."""
    set_time_zone(warehouse_db, zone)
    # m1 enters 03-31T23:00Z (March); its window ends 04-14T23:00Z
    write_lines(landing_dir, "1.jsonl", [
        track("m1", "m1", "2025-03-31T23:00:00Z", "signed_up"),
        identify("m2", "x1", "2025-04-14T20:00:00Z"),  # data_through: m1 in progress
    ])
    run_pipeline(warehouse_db, landing_dir, run_id="first")
    assert activation(warehouse_db, "2025-03-01")[0] == (1, 1, 0, 1, 0, None)
    # someone else's identify moves data_through past m1's window end (and before March's last possible one,
    # 04-15T00:00Z): m1 is eligible now, though the run touches nobody in the funnel
    write_lines(landing_dir, "2.jsonl", [identify("m3", "x2", "2025-04-14T23:30:00Z")])
    run_pipeline(warehouse_db, landing_dir, run_id="second")
    assert activation(warehouse_db, "2025-03-01")[0] == (1, 1, 1, 0, 1, 0.0)
