"""Revenue SQL (core.fact_mrr_monthly, analytics.mrr_monthly, revenue_retention_cohorts, billing_monthly) against
the independent pandas reference (tests/reference_revenue.py): on the hand-made story, on simulator output, and
after incremental runs."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import psycopg
import pytest

import reference_revenue as rev
from pipeline_helpers import run_pipeline
from reference_metrics import read_landing
from revenue_fixtures import STORY, write_story
from saas_analytics import pipeline, transform

KEYS = {
    "core.fact_mrr_monthly": ["user_id", "month"],
    "analytics.mrr_monthly": ["month"],
    "analytics.revenue_retention_cohorts": ["cohort_month", "months_since_first_paid"],
    "analytics.billing_monthly": ["month"],
}


def read(conninfo: str, table: str) -> pd.DataFrame:
    """A table or view as a DataFrame sorted by its key."""
    with psycopg.connect(conninfo) as conn:
        cur = conn.execute(f"select * from {table}")
        frame = pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])
    return frame.sort_values(KEYS[table]).reset_index(drop=True) if len(frame) else frame


def plain(value: object) -> object:
    """NaN/NaT → None, numpy scalars → Python, so lists compare exactly."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return None
    return value.item() if hasattr(value, "item") else value


def assert_frame(got: pd.DataFrame, want: pd.DataFrame, table: str) -> None:
    """Same rows and, for every reference column, the same values (Decimals exactly)."""
    want = want.sort_values(KEYS[table]).reset_index(drop=True) if len(want) else want
    assert len(got) == len(want), f"{table}: {len(got)} rows, expected {len(want)}"
    for column in want.columns:
        g, w = [plain(v) for v in got[column]], [plain(v) for v in want[column]]
        if any(isinstance(v, Decimal) for v in w):
            g = [None if v is None else Decimal(v) for v in g]
        diffs = [(i, a, b) for i, (a, b) in enumerate(zip(g, w, strict=True)) if a != b]
        assert not diffs, f"{table}.{column}: (row, warehouse, reference) {diffs[:5]}"


def assert_revenue_matches_reference(conninfo: str, landing_dir: Path) -> pd.DataFrame:
    """The core table and the three views equal the reference computed from the landing files."""
    events = read_landing(landing_dir).events
    assert_frame(read(conninfo, "core.fact_mrr_monthly"), rev.person_months(events), "core.fact_mrr_monthly")
    assert_frame(read(conninfo, "analytics.mrr_monthly"), rev.mrr_monthly(events), "analytics.mrr_monthly")
    assert_frame(read(conninfo, "analytics.revenue_retention_cohorts"), rev.revenue_retention_cohorts(events),
                 "analytics.revenue_retention_cohorts")
    assert_frame(read(conninfo, "analytics.billing_monthly"), rev.billing_monthly(events), "analytics.billing_monthly")
    return events


def test_story_matches_the_reference_and_the_hand_values(warehouse_db: str, landing_dir: Path) -> None:
    write_story(landing_dir)
    run_pipeline(warehouse_db, landing_dir)
    assert_revenue_matches_reference(warehouse_db, landing_dir)
    mrr = read(warehouse_db, "analytics.mrr_monthly").set_index("month")
    # a few numbers straight from the story's docstring (worked out by hand), beside the reference comparison
    assert mrr["mrr"].tolist() == [Decimal(v) for v in ("85", "147", "147", "107", "107", "124", "124", "124")]
    assert mrr["churned_mrr_involuntary"].tolist()[3] == Decimal("30") and mrr["churned_mrr"].tolist()[3] == 40
    assert mrr["reactivation_mrr"].tolist()[5] == 15 and mrr["new_mrr"].tolist()[5] == 7
    assert mrr["ltv"].tolist()[-1] == Decimal("330.67") and mrr["arpa"].tolist()[-1] == Decimal("20.67")
    with psycopg.connect(warehouse_db) as conn:
        reasons = dict(conn.execute(
            "select message_id, reason from core.fact_subscription_events where reason is not null").fetchall())
    assert reasons == {"blip2": "other", "inv2": "payment_failed", "ret2": "too_expensive", "dun2": "payment_failed"}


def test_story_file_by_file_equals_the_reference_after_every_run(warehouse_db: str, landing_dir: Path,
                                                                    tmp_path: Path) -> None:
    """Nine runs: months advance (carry forward), a late cancellation rewrites ret's April..August."""
    so_far = tmp_path / "so_far"
    so_far.mkdir()
    for i, name in enumerate(STORY):
        write_story(landing_dir, [name])
        write_story(so_far, [name])
        run_pipeline(warehouse_db, landing_dir, run_id=f"run{i}")
        assert_revenue_matches_reference(warehouse_db, so_far)


def test_simulated_demo_matches_the_reference(demo_warehouse: str, demo_landing: Path) -> None:
    events = assert_revenue_matches_reference(demo_warehouse, demo_landing)
    mrr = rev.mrr_monthly(events)
    assert len(mrr) >= 3 and mrr["customers"].iloc[-1] > 0
    moves = set(rev.person_months(events)["movement"])
    assert {"new", "expansion", "contraction", "churned"} <= moves, moves


def test_simulated_batches_equal_one_run(warehouse_db: str, demo_landing: Path, landing_dir: Path) -> None:
    files = sorted(p for p in demo_landing.rglob("*") if p.is_file())
    batches = [files[:25], files[25:50], files[50:51], files[51:]]
    for i, batch in enumerate(batches):
        for f in batch:
            target = landing_dir / f.relative_to(demo_landing)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, target)
        run_pipeline(warehouse_db, landing_dir, run_id=f"batch{i}")
    assert_revenue_matches_reference(warehouse_db, demo_landing)


def test_an_empty_warehouse_has_empty_views_and_passing_tests(warehouse_db: str, landing_dir: Path) -> None:
    run_pipeline(warehouse_db, landing_dir)  # runs every data test; any offending row would raise
    for table in KEYS:
        assert read(warehouse_db, table).empty, table
    counts = transform.run_data_tests(warehouse_db, ("analytics",))
    assert {"assert_analytics_mrr_bridge", "assert_analytics_revenue_cohort_start_is_new_mrr"} <= set(counts)


def test_a_warehouse_migrated_with_history_builds_everyone_once(warehouse_db: str, landing_dir: Path) -> None:
    """As after migration 0007 on an existing warehouse: the table is empty and behind core's watermark."""
    write_story(landing_dir, list(STORY)[:4])
    run_pipeline(warehouse_db, landing_dir, run_id="old")
    with psycopg.connect(warehouse_db, autocommit=True) as conn:
        conn.execute("truncate core.fact_mrr_monthly")
        conn.execute("update core.watermarks set last_staged_seq = 0 where step = 'fact_mrr_monthly'")
    write_story(landing_dir, [list(STORY)[4]])  # May: touches only dunning
    run_pipeline(warehouse_db, landing_dir, run_id="after-migration")
    so_far = landing_dir.parent / "so_far"
    so_far.mkdir()
    write_story(so_far, list(STORY)[:5])
    assert_revenue_matches_reference(warehouse_db, so_far)


@pytest.mark.parametrize(("corruption", "failing_test"), [
    ("update core.fact_mrr_monthly set movement_cents = movement_cents + 1 where movement = 'new'",
     "assert_analytics_mrr_bridge"),
    ("update core.fact_mrr_monthly set is_involuntary = false where movement = 'churned';"
     " update core.fact_mrr_monthly set movement = 'none', movement_cents = 0, is_involuntary = false"
     " where movement = 'churned'", "assert_analytics_mrr_customers_roll_forward"),
    ("update core.fact_mrr_monthly set first_paid_month = (first_paid_month + interval '1 month')::date"
     " where user_id = 'ann'", "assert_analytics_revenue_cohort_start_is_new_mrr"),
])
def test_the_revenue_data_tests_catch_a_broken_model(warehouse_db: str, landing_dir: Path, corruption: str,
                                                     failing_test: str) -> None:
    write_story(landing_dir)
    run_pipeline(warehouse_db, landing_dir)
    with psycopg.connect(warehouse_db, autocommit=True) as conn:
        conn.execute(corruption)
        # the views read core's month aggregates of the model: rebuilt from the corrupted model by a core run
        conn.execute("insert into core.aggregate_backfills (aggregate)"
                     " values ('agg_mrr_monthly'), ('agg_revenue_retention_cohorts')")
    transform.run_layer(warehouse_db, "core")
    pipeline.refresh(warehouse_db, "corrupt")
    with pytest.raises(transform.DataTestError, match=f"{failing_test}.sql returned"):
        transform.run_data_tests(warehouse_db, ("analytics",))


def _alembic(conninfo: str, action: str, target: str) -> None:
    """Run an Alembic upgrade/downgrade on one warehouse database."""
    from alembic import command
    from alembic.config import Config

    from saas_analytics import warehouse

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(warehouse.__file__).parent / "migrations"))
    cfg.attributes["conninfo"] = conninfo
    cfg.attributes["reader_role"] = "analytics_reader"
    getattr(command, action)(cfg, target)


def test_migration_0007_on_a_warehouse_with_history(warehouse_db: str, landing_dir: Path, tmp_path: Path) -> None:
    """A warehouse that ran before revision 0007 gets the reasons back-filled and every person built on its next run."""
    names = list(STORY)
    write_story(landing_dir, names[:5])
    run_pipeline(warehouse_db, landing_dir, run_id="before")
    _alembic(warehouse_db, "downgrade", "0007-1")  # as it was before: no reason column, no MRR table
    with psycopg.connect(warehouse_db) as conn:
        assert conn.execute("select to_regclass('core.fact_mrr_monthly')").fetchone()[0] is None
    _alembic(warehouse_db, "upgrade", "head")
    with psycopg.connect(warehouse_db) as conn:
        reasons = dict(conn.execute("select message_id, reason from core.fact_subscription_events"
                                    " where reason is not null").fetchall())
    assert reasons == {"blip2": "other", "inv2": "payment_failed", "dun2": "payment_failed"}
    write_story(landing_dir, [names[5]])
    run_pipeline(warehouse_db, landing_dir, run_id="after")
    so_far = tmp_path / "so_far"
    so_far.mkdir()
    write_story(so_far, names[:6])
    assert_revenue_matches_reference(warehouse_db, so_far)


def test_events_that_change_person_rebuild_both_persons(warehouse_db: str, landing_dir: Path) -> None:
    """As identity resolution (issue 9) will do: ret's subscription events move to another person, and
    core_changes lists them with the person now and before; both persons' months are rebuilt."""
    write_story(landing_dir)
    run_pipeline(warehouse_db, landing_dir)
    with psycopg.connect(warehouse_db) as conn, conn.transaction():
        moved = [r[0] for r in conn.execute(
            "update core.fact_subscription_events set user_id = 'ret-merged' where user_id = 'ret'"
            " returning message_id").fetchall()]
        conn.execute("create temp table core_batch (staged_seq bigint) on commit drop")
        conn.execute(
            "create temp table core_changes on commit drop as"
            " select message_id, 'ret-merged'::text as user_id, 'ret'::text as previous_user_id, event_type,"
            " event_name, event_at,"
            " event_date from core.fact_events where message_id = any(%s)", [moved])
        for step in ("mrr_changes", "fact_mrr_monthly"):
            conn.execute(transform.step_statement("core", step))
    pipeline.refresh(warehouse_db, "moved")
    events = read_landing(landing_dir).events
    events["user_id"] = events["user_id"].where(~events["message_id"].isin(moved), "ret-merged")
    assert_frame(read(warehouse_db, "core.fact_mrr_monthly"), rev.person_months(events), "core.fact_mrr_monthly")
    assert_frame(read(warehouse_db, "analytics.mrr_monthly"), rev.mrr_monthly(events), "analytics.mrr_monthly")
    assert "ret" not in set(read(warehouse_db, "core.fact_mrr_monthly")["user_id"])


def test_a_failure_after_the_mrr_step_leaves_nothing_and_a_retry_finishes(warehouse_db: str, landing_dir: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    write_story(landing_dir)
    pipeline.load(warehouse_db, "r", landing_dir)
    pipeline.build_layer(warehouse_db, "r", "staging")
    steps = transform.LAYER_STEPS["core"]
    broken = (*steps[: steps.index("fact_mrr_monthly") + 1], "no_such_step")
    monkeypatch.setitem(transform.LAYER_STEPS, "core", broken)
    with pytest.raises(FileNotFoundError):
        pipeline.build_layer(warehouse_db, "r", "core")
    with psycopg.connect(warehouse_db) as conn:
        assert conn.execute("select count(*) from core.fact_mrr_monthly").fetchone()[0] == 0
        assert conn.execute("select last_staged_seq from core.watermarks where step = 'fact_mrr_monthly'"
                            ).fetchone()[0] == 0
    monkeypatch.undo()
    pipeline.build_layer(warehouse_db, "r", "core")
    pipeline.refresh(warehouse_db, "r")
    assert_revenue_matches_reference(warehouse_db, landing_dir)
