"""The analytics data checks: the scope they gather (only what their tests read) and the defects they catch."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import psycopg
import pytest

from saas_analytics import pipeline, transform


def write_day(landing_dir: Path, day: str, users: list[str]) -> None:
    """One landing file: each user views a page at 10:00 on `day`."""
    with gzip.open(landing_dir / f"events_{day}.jsonl.gz", "wt") as fh:
        for user in users:
            fh.write(json.dumps({"message_id": f"{user}-{day}", "type": "page", "name": "home",
                                 "user_id": user, "timestamp": f"{day}T10:00:00Z"}) + "\n")


def build_and_check_core(conninfo: str, landing_dir: Path, run_id: str) -> None:
    """Load, staging, core and the core data checks, as the DAG runs them."""
    pipeline.load(conninfo, run_id, landing_dir)
    pipeline.build_layer(conninfo, run_id, "staging")
    pipeline.build_layer(conninfo, run_id, "core")
    pipeline.check(conninfo, run_id, pipeline.CORE_TEST_LAYERS, skip_unchanged=True)


def analytics_checks(conninfo: str, run_id: str, full: bool = False) -> dict:
    """The refresh (always: a planted defect is in core) and the DAG's analytics checks; the checks' detail."""
    pipeline.refresh(conninfo, run_id)
    return pipeline.check(conninfo, run_id, pipeline.ANALYTICS_TEST_LAYERS, skip_unchanged=True, full=full)


@pytest.mark.parametrize("full", [False, True])
def test_the_analytics_tests_read_only_the_checked_person_days(full: bool) -> None:
    """check_events, check_activity (a big day's million events) are gathered for the core tests only."""
    analytics = transform.data_test_files(pipeline.ANALYTICS_TEST_LAYERS)
    core = transform.data_test_files(pipeline.CORE_TEST_LAYERS)
    assert len(analytics) == 11
    assert transform.scope_steps_read(analytics, full) == ("check_person_days",)
    # a full sweep's check_events is a view of core.fact_events itself: no test reads check_event_ids then
    assert transform.scope_steps_read(core, full) == (
        ("check_files", "check_events", "check_person_days", "check_persons", "check_activity") if full
        else ("check_files", "check_event_ids", "check_events", "check_person_days", "check_persons", "check_activity"))


# A lifecycle count that drifted from the facts on the new day (2026-06-02: bob returning, cat new, ann dormant):
# one new person too many, while active(P-1) = returning(P) + dormant(P) still holds — only the recount of the
# persons active in the checked period catches it.
DRIFT = ("update core.agg_user_lifecycle set new_users = new_users + %s"
         " where period = 'day' and period_start = '2026-06-02'")


def test_a_lifecycle_count_off_the_facts_is_caught_scoped_and_in_a_sweep(warehouse_db: str,
                                                                          landing_dir: Path) -> None:
    write_day(landing_dir, "2026-06-01", ["ann", "bob"])
    build_and_check_core(warehouse_db, landing_dir, "r1")
    assert analytics_checks(warehouse_db, "r1")["mode"] == "full"  # the stage's first run
    write_day(landing_dir, "2026-06-02", ["bob", "cat"])
    build_and_check_core(warehouse_db, landing_dir, "r2")
    with psycopg.connect(warehouse_db, autocommit=True) as conn:
        assert conn.execute(DRIFT, [1]).rowcount == 1
    with pytest.raises(transform.DataTestError, match="assert_analytics_lifecycle_adds_up.sql returned 1 rows") \
            as scoped:
        analytics_checks(warehouse_db, "r2")
    assert "(scoped:" in str(scoped.value) and "2026, 6, 2" in str(scoped.value)
    # by hand: bob and cat on 2026-06-02; the files and events no analytics test reads are not gathered
    with psycopg.connect(warehouse_db) as conn:  # the audit tells an operator what was checked
        scope = conn.execute("select detail -> 'scope' from analytics.pipeline_run_stages where run_id = 'r2'"
                             " and stage = 'data_tests_analytics'").fetchone()[0]
    assert (scope["person_days"], scope["dates"], scope["first_date"]) == (2, 1, "2026-06-02")
    assert (scope["files"], scope["events"], scope["persons"]) == (None, None, None)
    assert scope["reason"].endswith("since the checks last passed: 2 person-day(s) on 1 date(s), dates 2026-06-02"
                                    " … 2026-06-02")
    with psycopg.connect(warehouse_db, autocommit=True) as conn:  # mended: the same scope passes
        conn.execute(DRIFT, [-1])
    detail = analytics_checks(warehouse_db, "r3")
    assert detail["mode"] == "scoped" and detail["assert_analytics_lifecycle_adds_up"] == 0
    assert detail["scope"]["person_days"] == 2 and detail["scope"]["events"] is None
    with psycopg.connect(warehouse_db, autocommit=True) as conn:  # drifted again, outside any scope now
        conn.execute(DRIFT, [1])
    with pytest.raises(transform.DataTestError, match="assert_analytics_lifecycle_adds_up.sql returned 1 rows") \
            as swept:
        analytics_checks(warehouse_db, "r4", full=True)
    assert "(full:" in str(swept.value)
    with psycopg.connect(warehouse_db, autocommit=True) as conn:
        conn.execute(DRIFT, [-1])
    assert analytics_checks(warehouse_db, "r5")["assert_analytics_lifecycle_adds_up"] == 0
