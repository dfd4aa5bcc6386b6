"""Data checks scoped to what the runs touched (meta.check_scope_*), the full sweep, and the weekly schedule."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest

from saas_analytics import dag_tasks, pipeline, transform
from saas_analytics.config import get_settings


def write_day(landing_dir: Path, day: str, users: list[str]) -> None:
    """One landing file: each user signs up at 10:00 and views a page at 10:01 on `day`."""
    landing_dir.mkdir(parents=True, exist_ok=True)
    with gzip.open(landing_dir / f"events_{day}.jsonl.gz", "wt") as fh:
        for user in users:
            for n, name in enumerate(("signed_up", "page_viewed")):
                fh.write(json.dumps({"message_id": f"{user}-{day}-{n}", "type": "track", "event": name,
                                     "user_id": user, "timestamp": f"{day}T10:0{n}:00Z"}) + "\n")


def build(conninfo: str, landing_dir: Path, run_id: str) -> None:
    """Load, staging and core, as the DAG runs them."""
    pipeline.load(conninfo, run_id, landing_dir)
    pipeline.build_layer(conninfo, run_id, "staging")
    pipeline.build_layer(conninfo, run_id, "core")


def daily_checks(conninfo: str, run_id: str, full: bool = False) -> dict:
    """The DAG's core data checks (skip rules on); the stage's detail."""
    return pipeline.check(conninfo, run_id, pipeline.CORE_TEST_LAYERS, skip_unchanged=True, full=full)


def analytics_checks(conninfo: str, run_id: str) -> dict:
    """The DAG's refresh and analytics data checks (skip rules on); the checks' detail."""
    pipeline.refresh(conninfo, run_id, skip_unchanged=True)
    return pipeline.check(conninfo, run_id, pipeline.ANALYTICS_TEST_LAYERS, skip_unchanged=True)


def scope_rows(conninfo: str) -> dict[str, int]:
    """How many files, events (listed, or staged in a range core inserted) and person-days the scope holds."""
    with psycopg.connect(conninfo) as conn:
        counts = {name: conn.execute(f"select count(*) from meta.check_scope_{name}").fetchone()[0]
                  for name in ("files", "events", "person_days")}
        counts["events"] += conn.execute(
            "select count(*) from meta.check_scope_staged as ranges inner join staging.events as staged"
            " on staged.staged_seq > ranges.after_staged_seq and staged.staged_seq <= ranges.upto_staged_seq"
        ).fetchone()[0]
    return counts


def test_the_first_check_is_a_full_sweep_then_each_run_checks_what_it_touched(warehouse_db: str,
                                                                             landing_dir: Path) -> None:
    write_day(landing_dir, "2026-06-01", ["ann", "bob"])
    build(warehouse_db, landing_dir, "r1")
    first = daily_checks(warehouse_db, "r1")
    assert first["mode"] == "full" and "first check of data_tests_core" in first["scope"]["reason"]
    # by hand: 1 file, 4 events, 2 persons, 2 person-days (ann and bob on 2026-06-01)
    assert (first["scope"]["files"], first["scope"]["events"], first["scope"]["persons"],
            first["scope"]["person_days"]) == (1, 4, 2, 2)
    # kept until the analytics checks pass too (their first run is a full sweep), then gone
    assert scope_rows(warehouse_db) == {"files": 1, "events": 4, "person_days": 2}
    assert analytics_checks(warehouse_db, "r1")["mode"] == "full"
    assert scope_rows(warehouse_db) == {"files": 0, "events": 0, "person_days": 0}

    write_day(landing_dir, "2026-06-02", ["cat", "ann"])
    build(warehouse_db, landing_dir, "r2")
    second = daily_checks(warehouse_db, "r2")
    assert second["mode"] == "scoped"
    scope = second["scope"]
    # by hand: the new file, its 4 events, cat and ann on 2026-06-02 only
    assert (scope["files"], scope["events"], scope["persons"], scope["person_days"], scope["dates"]) \
        == (1, 4, 2, 2, 1)
    assert scope["first_date"] == scope["last_date"] == "2026-06-02"
    assert "1 file(s), 4 event(s), 2 person(s), 2 person-day(s) on 1 date(s)" in scope["reason"]
    with psycopg.connect(warehouse_db) as conn:  # the audit tells an operator the same
        detail = conn.execute("select detail from analytics.pipeline_run_stages where run_id = 'r2'"
                              " and stage = 'data_tests_core'").fetchone()[0]
    assert detail["mode"] == "scoped" and detail["scope"]["persons"] == 2
    # the seconds of the scope steps and of every test, for an operator looking for a slow one
    tests = {path.stem for path in transform.data_test_files(pipeline.CORE_TEST_LAYERS)}
    assert len(tests) == 9 and set(detail["scope"]["seconds"]) == {"scope", *tests}
    assert all(seconds >= 0 for seconds in detail["scope"]["seconds"].values())
    # the scope stays until the analytics checks pass too, then it is gone
    assert scope_rows(warehouse_db) == {"files": 1, "events": 4, "person_days": 2}
    assert analytics_checks(warehouse_db, "r2")["mode"] == "scoped"
    assert scope_rows(warehouse_db) == {"files": 0, "events": 0, "person_days": 0}


def test_a_scoped_check_catches_a_defect_in_its_scope_and_keeps_the_scope_until_it_passes(
        warehouse_db: str, landing_dir: Path) -> None:
    write_day(landing_dir, "2026-06-01", ["ann"])
    build(warehouse_db, landing_dir, "r1")
    daily_checks(warehouse_db, "r1")
    write_day(landing_dir, "2026-06-02", ["cat"])
    build(warehouse_db, landing_dir, "r2")
    with psycopg.connect(warehouse_db, autocommit=True) as conn:
        saved = conn.execute("delete from core.fact_daily_user_activity where user_id = 'cat' returning *"
                             ).fetchall()
    assert len(saved) == 1
    with pytest.raises(transform.DataTestError, match="assert_core_daily_activity_matches_events.*'cat'"):
        daily_checks(warehouse_db, "r2")
    with psycopg.connect(warehouse_db) as conn:  # the audit says what the failing check looked at
        detail = conn.execute("select detail from analytics.pipeline_run_stages where run_id = 'r2'"
                              " and stage = 'data_tests_core'").fetchone()[0]
    assert detail["mode"] == "scoped" and detail["scope"]["persons"] == 1 and "cat" in detail["error"]
    # the next run (nothing new) checks the same scope again: still failing, not skipped
    with pytest.raises(transform.DataTestError, match="scoped"):
        daily_checks(warehouse_db, "r3")
    assert scope_rows(warehouse_db)["person_days"] == 2  # kept: cat's day, and ann's (analytics never ran)
    with psycopg.connect(warehouse_db, autocommit=True) as conn:  # repaired: the scoped check passes
        conn.execute("insert into core.fact_daily_user_activity"
                     " select * from unnest(%s::core.fact_daily_user_activity[])", [saved])
    assert daily_checks(warehouse_db, "r4")["mode"] == "scoped"


def test_a_defect_outside_the_scope_is_found_by_the_full_sweep(warehouse_db: str, landing_dir: Path) -> None:
    write_day(landing_dir, "2026-06-01", ["ann"])
    build(warehouse_db, landing_dir, "r1")
    daily_checks(warehouse_db, "r1")
    with psycopg.connect(warehouse_db, autocommit=True) as conn:  # ann's day: not touched again
        conn.execute("update core.fact_sessions set events = events + 1 where user_id = 'ann'")
    write_day(landing_dir, "2026-06-02", ["cat"])
    build(warehouse_db, landing_dir, "r2")
    assert daily_checks(warehouse_db, "r2")["mode"] == "scoped"  # cat's day is fine
    with pytest.raises(transform.DataTestError, match="assert_core_sessions_match_events.*'ann'"):
        daily_checks(warehouse_db, "r3", full=True)  # the weekly sweep
    # a failed full sweep is repeated by the next run until it passes
    with pytest.raises(transform.DataTestError, match="sweeping again"):
        daily_checks(warehouse_db, "r4")


def test_a_scoped_session_check_sees_a_broken_session_on_a_touched_day(warehouse_db: str,
                                                                       landing_dir: Path) -> None:
    write_day(landing_dir, "2026-06-01", ["ann"])
    build(warehouse_db, landing_dir, "r1")
    daily_checks(warehouse_db, "r1")
    write_day(landing_dir, "2026-06-02", ["ann"])
    build(warehouse_db, landing_dir, "r2")
    with psycopg.connect(warehouse_db, autocommit=True) as conn:
        assert conn.execute("delete from core.fact_sessions where user_id = 'ann' and session_date = '2026-06-02'"
                            ).rowcount == 1
    with pytest.raises(transform.DataTestError, match="assert_core_sessions_match_events"):
        daily_checks(warehouse_db, "r2")


def test_an_empty_warehouse_and_a_run_with_nothing_new_pass_with_a_clear_message(warehouse_db: str) -> None:
    stage = pipeline.CHECK_STAGES[pipeline.CORE_TEST_LAYERS]
    counts, first = transform.run_checks(warehouse_db, pipeline.CORE_TEST_LAYERS, stage=stage)
    assert first.mode == "full" and "first check" in first.reason and set(counts.values()) == {0}
    counts, again = transform.run_checks(warehouse_db, pipeline.CORE_TEST_LAYERS, stage=stage)
    assert again.mode == "scoped" and again.reason.startswith("nothing new since the checks last passed")
    assert set(counts.values()) == {0}


def at(day: str) -> SimpleNamespace:
    """A DAG run as the task context hands it over, with this logical date."""
    return SimpleNamespace(logical_date=datetime.fromisoformat(day).replace(hour=2, tzinfo=UTC),
                           run_after=None)


@pytest.fixture
def weekday(monkeypatch: pytest.MonkeyPatch):
    """Set DATA_CHECKS_FULL_WEEKDAY (None: unset) for one test."""
    def set_to(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv("DATA_CHECKS_FULL_WEEKDAY", raising=False)
        else:
            monkeypatch.setenv("DATA_CHECKS_FULL_WEEKDAY", value)
        get_settings.cache_clear()

    monkeypatch.delenv("DATA_CHECKS_FULL", raising=False)
    yield set_to
    get_settings.cache_clear()


def test_the_daily_dag_sweeps_everything_on_the_configured_weekday(weekday) -> None:
    weekday(None)  # default: Sunday. 2026-06-07 is a Sunday, 2026-06-08 a Monday
    assert dag_tasks.full_sweep(at("2026-06-07")) is True
    assert dag_tasks.full_sweep(at("2026-06-08")) is False
    assert dag_tasks.check_scope("fact_events", at("2026-06-07")) == "true"
    assert dag_tasks.check_scope("fact_events", at("2026-06-08")).startswith("message_id in (")
    weekday("Monday")
    assert dag_tasks.full_sweep(at("2026-06-08")) is True and dag_tasks.full_sweep(at("2026-06-07")) is False
    weekday("never")
    assert not any(dag_tasks.full_sweep(at(f"2026-06-{d:02d}")) for d in range(1, 15))
    weekday("sun")  # a manual run without a logical date: the day it was due
    assert dag_tasks.full_sweep(SimpleNamespace(logical_date=None, run_after=at("2026-06-14").logical_date))
    weekday("someday")
    with pytest.raises(ValueError, match="DATA_CHECKS_FULL_WEEKDAY must be a weekday"):
        get_settings()


def test_the_sql_check_operators_read_the_scope(warehouse_db: str, landing_dir: Path, weekday) -> None:
    weekday("never")
    write_day(landing_dir, "2026-06-01", ["ann", "bob"])
    build(warehouse_db, landing_dir, "r1")
    daily = dag_tasks.check_scope("daily_activity", at("2026-06-01"))
    events = dag_tasks.check_scope("fact_events", at("2026-06-01"))
    with psycopg.connect(warehouse_db) as conn:
        assert conn.execute(f"select count(*) from {daily} as activity").fetchone() == (2,)
        assert conn.execute(f"select count(*) from core.fact_events where {events}").fetchone() == (4,)
    daily_checks(warehouse_db, "r1")
    analytics_checks(warehouse_db, "r1")
    with psycopg.connect(warehouse_db) as conn:  # both check stages passed: nothing left in scope
        assert conn.execute(f"select count(*) from {daily} as activity").fetchone() == (0,)
        assert conn.execute(f"select count(*) from core.fact_events where {events}").fetchone() == (0,)


def test_a_file_correction_puts_what_it_changed_in_the_scope(warehouse_db: str, landing_dir: Path) -> None:
    from saas_analytics import files

    write_day(landing_dir, "2026-06-01", ["ann", "bob"])
    build(warehouse_db, landing_dir, "r1")
    daily_checks(warehouse_db, "r1")
    analytics_checks(warehouse_db, "r1")
    write_day(landing_dir, "2026-06-01", ["ann"])  # the corrected export: bob's events were a mistake
    files.correct(warehouse_db, "events_2026-06-01.jsonl.gz", "replace", landing_dir, by="test")
    with psycopg.connect(warehouse_db, autocommit=True) as conn:  # a defect in a corrected person-day
        conn.execute("delete from core.fact_daily_user_activity where user_id = 'ann'")
    with pytest.raises(transform.DataTestError, match="assert_core_daily_activity_matches_events"):
        daily_checks(warehouse_db, "r2")
    with psycopg.connect(warehouse_db) as conn:
        scope = conn.execute("select detail -> 'scope' from analytics.pipeline_run_stages where run_id = 'r2'"
                             " and stage = 'data_tests_core'").fetchone()[0]
    # by hand: the re-staged file; ann's 2 events (withdrawn, then back) and bob's 2 (withdrawn);
    # ann and bob on 2026-06-01
    assert scope["mode"] == "scoped"
    assert (scope["files"], scope["events"], scope["persons"], scope["person_days"]) == (1, 4, 2, 2)


def test_a_scope_holding_most_of_history_is_checked_by_a_full_sweep(warehouse_db: str, landing_dir: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    write_day(landing_dir, "2026-06-01", ["ann"])
    build(warehouse_db, landing_dir, "r1")
    daily_checks(warehouse_db, "r1")
    write_day(landing_dir, "2026-06-02", ["bob", "cat", "dan"])  # 6 new events against 2 before
    build(warehouse_db, landing_dir, "r2")
    monkeypatch.setattr(transform, "CHECK_FULL_MIN_EVENTS", 1)
    detail = daily_checks(warehouse_db, "r2")
    assert detail["mode"] == "full" and "(a catch-up)" in detail["scope"]["reason"]


def test_a_batch_bigger_than_history_is_checked_scoped_and_a_defect_inside_it_is_caught(
        warehouse_db: str, landing_dir: Path) -> None:
    write_day(landing_dir, "2026-06-01", ["ann"])
    build(warehouse_db, landing_dir, "r1")
    daily_checks(warehouse_db, "r1")
    analytics_checks(warehouse_db, "r1")
    # two core runs before the next check (two inserted ranges): 10 new events against 2 before
    write_day(landing_dir, "2026-06-02", ["bob", "cat", "dan"])
    build(warehouse_db, landing_dir, "r2")
    write_day(landing_dir, "2026-06-03", ["eve", "bob"])
    build(warehouse_db, landing_dir, "r3")
    with psycopg.connect(warehouse_db, autocommit=True) as conn:  # defects inside the first range
        assert conn.execute("update core.fact_events set user_id = 'dan'"
                            " where message_id = 'cat-2026-06-02-0'").rowcount == 1
        assert conn.execute("delete from core.fact_events where message_id = 'bob-2026-06-02-1'").rowcount == 1
    with pytest.raises(transform.DataTestError) as failed:
        daily_checks(warehouse_db, "r4")
    message = str(failed.value)
    assert "scoped" in message and "full sweep" not in message
    assert "assert_core_events_attributed" in message and "'cat-2026-06-02-0'" in message
    assert "assert_core_events_complete" in message and "'bob-2026-06-02-1'" in message
    assert "assert_core_daily_activity_matches_events" in message
    with psycopg.connect(warehouse_db) as conn:
        detail = conn.execute("select detail from analytics.pipeline_run_stages where run_id = 'r4'"
                              " and stage = 'data_tests_core'").fetchone()[0]
    # by hand: both files; 10 events (6 + 4) of 2026-06-02 and -03, the deleted one still staged; bob, cat,
    # dan and eve on 4 person-days
    assert detail["mode"] == "scoped"
    assert (detail["scope"]["files"], detail["scope"]["events"], detail["scope"]["persons"],
            detail["scope"]["person_days"]) == (2, 10, 4, 5)
    # the weekly sweep finds the same defects
    with pytest.raises(transform.DataTestError, match="assert_core_events_complete") as swept:
        daily_checks(warehouse_db, "r5", full=True)
    assert "assert_core_events_attributed" in str(swept.value) and "full sweep" in str(swept.value)


# One defect per data test, planted in the new day's rows (cat's or bob's): (SQL, the test that must fail).
PLANTED = {
    "fact missing from core": ("delete from core.fact_events where message_id = 'cat-2026-06-02-1'",
                               "assert_core_events_complete"),
    "wrong person": ("update core.fact_events set user_id = 'bob' where message_id = 'cat-2026-06-02-1'",
                     "assert_core_events_attributed"),
    "person missing": ("delete from core.dim_users where user_id = 'cat'", "assert_core_users_present"),
    "signup moved": ("update core.dim_users set signup_at = signup_at + interval '1 hour' where user_id = 'cat'",
                     "assert_core_signup_is_earliest"),
    "activity count": ("update core.fact_daily_user_activity set activity_events = activity_events + 1"
                       " where user_id = 'bob'", "assert_core_daily_activity_matches_events"),
    "session events": ("update core.fact_sessions set events = events + 1 where user_id = 'bob'",
                       "assert_core_sessions_match_events"),
    "raw line lost": ("delete from raw.events where line_no = 2 and file_id = (select max(file_id)"
                      " from raw.load_files)", "assert_raw_lines_reconcile"),
    "staged event lost": ("delete from staging.events where message_id = 'bob-2026-06-02-0'",
                          "assert_staging_lines_reconcile"),
    "raw line of no file": ("insert into raw.events (file_id, line_no, payload) select max(file_id) + 1, 1, '{}'"
                            " from raw.load_files", "assert_raw_events_have_a_file"),
}


@pytest.mark.parametrize("defect", list(PLANTED))
def test_every_core_check_catches_its_defect_scoped_and_in_a_sweep(warehouse_db: str, landing_dir: Path,
                                                                   defect: str) -> None:
    statement, failing = PLANTED[defect]
    write_day(landing_dir, "2026-06-01", ["ann"])
    build(warehouse_db, landing_dir, "r1")
    daily_checks(warehouse_db, "r1")
    write_day(landing_dir, "2026-06-02", ["bob", "cat"])
    build(warehouse_db, landing_dir, "r2")
    with psycopg.connect(warehouse_db, autocommit=True) as conn:
        conn.execute("set session_replication_role = replica")  # no foreign key stops the planted defect
        assert conn.execute(statement).rowcount == 1
    with pytest.raises(transform.DataTestError, match=f"{failing}.sql returned") as scoped:
        daily_checks(warehouse_db, "r2")
    assert "(scoped:" in str(scoped.value)
    with pytest.raises(transform.DataTestError, match=f"{failing}.sql returned") as swept:
        daily_checks(warehouse_db, "r3", full=True)
    assert "(full:" in str(swept.value)


def write_sessions_day(landing_dir: Path, day: str, user: str, times: list[str]) -> None:
    """One landing file: `user` views a page at each of `times` (HH:MM) on `day`."""
    landing_dir.mkdir(parents=True, exist_ok=True)
    with gzip.open(landing_dir / f"sessions_{day}.jsonl.gz", "wt") as fh:
        for n, hhmm in enumerate(times):
            fh.write(json.dumps({"message_id": f"{user}-{day}-s{n}", "type": "track", "event": "page_viewed",
                                 "user_id": user, "timestamp": f"{day}T{hhmm}:00Z"}) + "\n")


# bob's day, by hand: gaps over 30 minutes start a session, a gap of exactly 30 minutes does not. Sessions
# (start, end, events): 10:00-10:45 (3), 12:00 alone (1), 13:00-13:29 (2), 14:00-14:30 (2), 16:00-16:00 (2,
# two events at the same instant)
BOB_TIMES = ["10:00", "10:20", "10:45", "12:00", "13:00", "13:29", "14:00", "14:30", "16:00", "16:00"]
BOB_SESSIONS = [("10:00", "10:45", 3), ("12:00", "12:00", 1), ("13:00", "13:29", 2), ("14:00", "14:30", 2),
                ("16:00", "16:00", 2)]
_S = "insert into core.fact_sessions (user_id, started_at, ended_at, session_date, duration_seconds, events," \
     " feature_uses, platform) values ('bob', '2026-06-02 {0}+00', '2026-06-02 {1}+00', '2026-06-02', {2}, {3}, 0," \
     " null)"
# One defect per way a session can be wrong (each one statement, or two joined by ';')
SESSION_DEFECTS = {
    "split in two": "update core.fact_sessions set ended_at = '2026-06-02 10:20+00', duration_seconds = 1200,"
                    " events = 2 where user_id = 'bob' and started_at = '2026-06-02 10:00+00';"
                    + _S.format("10:45", "10:45", 0, 1),
    "two merged": "delete from core.fact_sessions where user_id = 'bob' and started_at = '2026-06-02 14:00+00';"
                  "update core.fact_sessions set ended_at = '2026-06-02 14:30+00', duration_seconds = 5400,"
                  " events = 4 where user_id = 'bob' and started_at = '2026-06-02 13:00+00'",
    "end moved": "update core.fact_sessions set ended_at = ended_at + interval '1 minute', duration_seconds = 60"
                 " where user_id = 'bob' and started_at = '2026-06-02 12:00+00'",
    "start moved": "update core.fact_sessions set started_at = started_at - interval '1 minute',"
                   " duration_seconds = duration_seconds + 60"
                   " where user_id = 'bob' and started_at = '2026-06-02 13:00+00'",
    "wrong date": "update core.fact_sessions set session_date = session_date - 1"
                  " where user_id = 'bob' and started_at = '2026-06-02 14:00+00'",
    "wrong duration": "update core.fact_sessions set duration_seconds = duration_seconds + 1"
                      " where user_id = 'bob' and started_at = '2026-06-02 13:00+00'",
    "tied events miscounted": "update core.fact_sessions set events = 1"
                              " where user_id = 'bob' and started_at = '2026-06-02 16:00+00'",
    "extra session": _S.format("18:00", "18:00", 0, 1),
    "session missing": "delete from core.fact_sessions where user_id = 'bob'"
                       " and started_at = '2026-06-02 12:00+00'",
}


@pytest.mark.parametrize("defect", list(SESSION_DEFECTS))
def test_the_session_check_catches_every_kind_of_wrong_session_scoped_and_in_a_sweep(
        warehouse_db: str, landing_dir: Path, defect: str) -> None:
    write_day(landing_dir, "2026-06-01", ["ann"])
    build(warehouse_db, landing_dir, "r1")
    daily_checks(warehouse_db, "r1")
    write_sessions_day(landing_dir, "2026-06-02", "bob", BOB_TIMES)
    build(warehouse_db, landing_dir, "r2")
    with psycopg.connect(warehouse_db, autocommit=True) as conn:  # core built the sessions worked out by hand
        got = conn.execute("select to_char(started_at at time zone 'UTC', 'HH24:MI'), to_char(ended_at at time"
                           " zone 'UTC', 'HH24:MI'), events from core.fact_sessions where user_id = 'bob'"
                           " order by started_at").fetchall()
        assert got == BOB_SESSIONS
        for statement in SESSION_DEFECTS[defect].split(";"):
            assert conn.execute(statement).rowcount == 1
    with pytest.raises(transform.DataTestError, match="assert_core_sessions_match_events.sql returned") as scoped:
        daily_checks(warehouse_db, "r2")
    assert "(scoped:" in str(scoped.value) and "'bob'" in str(scoped.value)
    with pytest.raises(transform.DataTestError, match="assert_core_sessions_match_events.sql returned") as swept:
        daily_checks(warehouse_db, "r3", full=True)
    assert "(full:" in str(swept.value)


def test_the_session_check_passes_on_the_hand_made_day(warehouse_db: str, landing_dir: Path) -> None:
    write_day(landing_dir, "2026-06-01", ["ann"])
    build(warehouse_db, landing_dir, "r1")
    daily_checks(warehouse_db, "r1")
    write_sessions_day(landing_dir, "2026-06-02", "bob", BOB_TIMES)
    build(warehouse_db, landing_dir, "r2")
    scoped = daily_checks(warehouse_db, "r2")
    assert scoped["mode"] == "scoped" and scoped["scope"]["events"] == len(BOB_TIMES)
    assert daily_checks(warehouse_db, "r3", full=True)["mode"] == "full"
