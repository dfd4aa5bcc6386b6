"""Core aggregates (issue 10): kept incrementally by the core layer, equal to the same aggregate built in full.

Each `core.agg_*` table is rebuilt by its core step for the keys a run's `core_changes` affect. Here daily
runs (with late events and late identity links), a run with nothing new and a file correction each leave
every aggregate equal to a from-scratch build of it (emptied, marked in core.aggregate_backfills, rebuilt
by a core run); the analytics views over them still match the independent pandas references.
"""

from __future__ import annotations

import math
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from psycopg import sql

import reference_product as rp
import reference_revenue as rev
from pipeline_helpers import assert_matches_reference, run_pipeline, write_corrected_day
from reference_metrics import read_landing
from saas_analytics import files, transform
from saas_analytics.simulator import SimulationConfig, simulate

AGGREGATES = tuple(step for step in transform.LAYER_STEPS["core"] if step.startswith("agg_"))
FUNNELS_YML = Path(__file__).parents[2] / "sql" / "funnels.yml"
# the views over the month aggregates of the third pass (the others: pipeline_helpers.assert_matches_reference)
MONTH_VIEW_KEYS = {
    "funnel_conversion": ["funnel", "cohort_month", "step"],
    "acquisition_monthly": ["signup_month", "channel"],
    "revenue_retention_cohorts": ["cohort_month", "months_since_first_paid"],
}


@pytest.fixture(scope="module")
def simulated_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 simulated days with duplicates, malformed and late lines (late events reach earlier days)."""
    path = tmp_path_factory.mktemp("aggregates") / "landing"
    path.mkdir()
    simulate(SimulationConfig(days=40, users=300, seed=5, malformed_rate=0.01, duplicate_rate=0.03,
                              late_rate=0.08), path)
    return path


def contents(conninfo: str, table: str) -> list[str]:
    """Every row of core.<table>, as sorted JSON text."""
    with psycopg.connect(conninfo) as conn:
        query = sql.SQL("select to_jsonb(t)::text from {} as t").format(sql.Identifier("core", table))
        return sorted(row[0] for row in conn.execute(query))


def rebuilt_from_scratch(conninfo: str, table: str) -> list[str]:
    """The aggregate emptied, marked for a full build and rebuilt by a core run with nothing new."""
    with psycopg.connect(conninfo) as conn:
        conn.execute(sql.SQL("delete from {}").format(sql.Identifier("core", table)))
        conn.execute("insert into core.aggregate_backfills (aggregate) values (%s)", [table])
    transform.run_layer(conninfo, "core")
    with psycopg.connect(conninfo) as conn:
        assert conn.execute("select count(*) from core.aggregate_backfills").fetchone()[0] == 0
    return contents(conninfo, table)


def assert_aggregates_equal_full_builds(conninfo: str) -> None:
    """Each aggregate, as the runs left it, equals its from-scratch build (and is not empty)."""
    for table in AGGREGATES:
        kept = contents(conninfo, table)
        assert kept, f"core.{table} is empty"
        assert kept == rebuilt_from_scratch(conninfo, table), f"core.{table} differs from its full build"


def same_value(got: object, want: object, tolerance: float) -> bool:
    """Equal, numbers within the SQL's rounding, missing equal missing."""
    missing = [v is None or (isinstance(v, float) and math.isnan(v)) for v in (got, want)]
    if any(missing):
        return all(missing)
    if isinstance(want, (float, Decimal)) or isinstance(got, (float, Decimal)):
        return abs(float(got) - float(want)) <= tolerance
    return got == want


def assert_month_views_match_references(conninfo: str, landing_dir: Path) -> None:
    """funnel_conversion, acquisition_monthly, revenue_retention_cohorts equal the independent pandas references."""
    events = read_landing(landing_dir).events
    definitions = rp.read_funnels(FUNNELS_YML)
    expected = {
        "funnel_conversion": rp.funnel_conversion(events, definitions),
        "acquisition_monthly": rp.acquisition_monthly(events, definitions),
        "revenue_retention_cohorts": rev.revenue_retention_cohorts(events),
    }
    for name, want in expected.items():
        keys = MONTH_VIEW_KEYS[name]
        with psycopg.connect(conninfo) as conn:
            cur = conn.execute(sql.SQL("select * from {}").format(sql.Identifier("analytics", name)))
            got = pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])
        assert len(want) > 0 and len(got) == len(want), f"{name}: {len(got)} rows, expected {len(want)}"
        got = got.sort_values(keys).reset_index(drop=True)
        want = want.sort_values(keys).reset_index(drop=True)
        for column in want.columns:
            tolerance = 1e-3 if "seconds" in column else 1e-6  # seconds: 3 decimals, rates: 6
            pairs = zip(got[column].tolist(), want[column].tolist(), strict=True)
            diffs = [(i, g, w) for i, (g, w) in enumerate(pairs) if not same_value(g, w, tolerance)]
            assert not diffs, f"{name}.{column}: (row, warehouse, reference) {diffs[:5]}"


def test_the_core_layer_lists_aggregates() -> None:
    assert "agg_daily_active_users" in AGGREGATES
    # each after the facts it reads, before the watermark advances
    steps = transform.LAYER_STEPS["core"]
    assert all(steps.index(a) > steps.index("fact_daily_user_activity") for a in AGGREGATES)
    assert all(steps.index(a) < steps.index("watermarks") for a in AGGREGATES)


def test_daily_runs_and_a_correction_keep_every_aggregate_equal_to_a_full_build(
        warehouse_db: str, simulated_landing: Path, landing_dir: Path) -> None:
    days = sorted(p.relative_to(simulated_landing) for p in simulated_landing.rglob("*.jsonl.gz"))
    # a catch-up, then one day per run (late lines in each day's file reach days already built)
    for i, batch in enumerate([days[:25], *[[d] for d in days[25:]]]):
        for f in batch:
            (landing_dir / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(simulated_landing / f, landing_dir / f)
        run_pipeline(warehouse_db, landing_dir, run_id=f"day{i}")
    assert_matches_reference(warehouse_db, landing_dir)
    assert_month_views_match_references(warehouse_db, landing_dir)
    assert_aggregates_equal_full_builds(warehouse_db)

    before = {table: contents(warehouse_db, table) for table in AGGREGATES}
    run_pipeline(warehouse_db, landing_dir, run_id="nothing-new")
    assert {table: contents(warehouse_db, table) for table in AGGREGATES} == before

    # a correction of a mid-history day: a fifth of its lines withdrawn, every feature renamed
    target = landing_dir / days[12]
    write_corrected_day(target)
    result = files.correct(warehouse_db, days[12].as_posix(), "replace", landing_dir, by="test")
    assert result.events_withdrawn > 0
    assert {table: contents(warehouse_db, table) for table in AGGREGATES} != before  # the correction reached them
    transform.refresh_analytics(warehouse_db)
    assert_matches_reference(warehouse_db, landing_dir)  # the independent pandas oracle, on the corrected files
    assert_month_views_match_references(warehouse_db, landing_dir)
    assert_aggregates_equal_full_builds(warehouse_db)

    # forgetting the latest day's file shortens the day range
    last = days[-1]
    (landing_dir / last).unlink()
    files.correct(warehouse_db, last.as_posix(), "forget", landing_dir, by="test")
    transform.refresh_analytics(warehouse_db)
    assert_matches_reference(warehouse_db, landing_dir)
    assert_month_views_match_references(warehouse_db, landing_dir)
    assert_aggregates_equal_full_builds(warehouse_db)


def test_upgrading_a_warehouse_with_history_builds_the_aggregates_on_the_next_run(
        warehouse_db: str, simulated_landing: Path) -> None:
    """Migration 0012 on a warehouse that holds history: the next run (nothing new) builds every aggregate in
    full, the analytics objects that read them are re-created, and the numbers match the references."""
    from alembic import command
    from alembic.config import Config

    from saas_analytics import warehouse

    run_pipeline(warehouse_db, simulated_landing, run_id="before-upgrade")
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(warehouse.__file__).parent / "migrations"))
    cfg.attributes["conninfo"] = warehouse_db
    cfg.attributes["reader_role"] = "analytics_reader"
    command.downgrade(cfg, "0010")
    with psycopg.connect(warehouse_db) as conn:
        assert conn.execute("select to_regclass('core.agg_daily_active_users')").fetchone()[0] is None
    command.upgrade(cfg, "head")
    with psycopg.connect(warehouse_db) as conn:
        assert conn.execute("select count(*) from core.aggregate_backfills").fetchone()[0] > 0
    run_pipeline(warehouse_db, simulated_landing, run_id="after-upgrade")
    assert_matches_reference(warehouse_db, simulated_landing)
    assert_aggregates_equal_full_builds(warehouse_db)
