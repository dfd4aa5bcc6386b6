"""Core aggregates (issue 10): kept incrementally by the core layer, equal to the same aggregate built in full.

Each `core.agg_*` table is rebuilt by its core step for the keys a run's `core_changes` affect. Here daily
runs (with late events and late identity links), a run with nothing new and a file correction each leave
every aggregate equal to a from-scratch build of it (emptied, marked in core.aggregate_backfills, rebuilt
by a core run); the analytics views over them still match the independent pandas references.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
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


def rebuilt_from_scratch(conninfo: str, tables: Sequence[str]) -> dict[str, list[str]]:
    """The aggregates emptied, marked for a full build and rebuilt by one core run with nothing new."""
    with psycopg.connect(conninfo) as conn:
        for table in tables:
            conn.execute(sql.SQL("delete from {}").format(sql.Identifier("core", table)))
            conn.execute("insert into core.aggregate_backfills (aggregate) values (%s)", [table])
    transform.run_layer(conninfo, "core")
    with psycopg.connect(conninfo) as conn:
        assert conn.execute("select count(*) from core.aggregate_backfills").fetchone()[0] == 0
    return {table: contents(conninfo, table) for table in tables}


def assert_equal_full_builds(conninfo: str, tables: Sequence[str] = AGGREGATES) -> None:
    """Each aggregate, as the runs left it, equals its from-scratch build (and is not empty)."""
    kept = {table: contents(conninfo, table) for table in tables}
    empty = [table for table, rows in kept.items() if not rows]
    assert not empty, f"empty: {empty}"
    rebuilt = rebuilt_from_scratch(conninfo, tables)
    differ = [table for table in tables if kept[table] != rebuilt[table]]
    assert not differ, f"differ from their full build: {differ}"


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
    assert_equal_full_builds(warehouse_db)

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
    assert_equal_full_builds(warehouse_db)

    # forgetting the latest day's file shortens the day range
    last = days[-1]
    (landing_dir / last).unlink()
    files.correct(warehouse_db, last.as_posix(), "forget", landing_dir, by="test")
    transform.refresh_analytics(warehouse_db)
    assert_matches_reference(warehouse_db, landing_dir)
    assert_month_views_match_references(warehouse_db, landing_dir)
    assert_equal_full_builds(warehouse_db)


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
    assert_equal_full_builds(warehouse_db)


def _write_lines(path: Path, lines: list[dict]) -> None:
    """A landing file of Segment-style (camelCase) calls."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def _call(kind: str, mid: str, ts: str, user: str | None = None, anon: str | None = None, **extra: object) -> dict:
    """One call; userId / anonymousId only when given."""
    ids = {"userId": user} if user else {}
    return {"messageId": mid, "type": kind, "timestamp": ts, **ids, **({"anonymousId": anon} if anon else {}),
            **extra}


def _feature_uses(conninfo: str) -> dict[tuple[str, str], int]:
    with psycopg.connect(conninfo) as conn:
        return {(u, f): n for u, f, n in conn.execute("select user_id, feature, uses from core.agg_feature_users")}


def _pricing_funnel(conninfo: str) -> set[tuple[str, int, str]]:
    with psycopg.connect(conninfo) as conn:
        return {(u, step, f"{at:%m-%d %H:%M}") for u, step, at in conn.execute(
            "select user_id, step, reached_at at time zone 'UTC' from core.agg_funnel_user_steps"
            " where funnel = 'pricing_to_signup'")}


def test_a_run_recounts_only_the_person_features_and_funnel_entrants_its_changes_touch(
        warehouse_db: str, landing_dir: Path) -> None:
    """New feature uses recount their person-feature only; a use that leaves a person recounts the person whole;
    only an arriving event matching step 1 with its property filters lets a person into a funnel."""
    def use(mid: str, ts: str, feature: str, user: str | None = None, anon: str | None = None) -> dict:
        return _call("track", mid, ts, user, anon, event="feature_used", properties={"feature": feature})

    def page(mid: str, ts: str, path: str, user: str | None = None, anon: str | None = None) -> dict:
        return _call("page", mid, ts, user, anon, properties={"path": path})

    _write_lines(landing_dir / "r1.jsonl", [
        use("e1", "2024-08-01T08:00:00Z", "editor", user="u1"),
        use("e2", "2024-08-01T08:10:00Z", "editor", user="u1"),
        use("x1", "2024-08-01T08:20:00Z", "export", user="u1"),
        use("e3", "2024-08-01T08:00:00Z", "editor", user="u2"),
        use("d1", "2024-08-01T09:10:00Z", "editor", anon="dev"),  # nobody yet
        page("d2", "2024-08-01T09:00:00Z", "/pricing", anon="dev"),
        page("h1", "2024-08-01T09:00:00Z", "/home", user="u3"),
    ])
    run_pipeline(warehouse_db, landing_dir, run_id="r1")
    assert _feature_uses(warehouse_db) == {("u1", "editor"): 2, ("u1", "export"): 1, ("u2", "editor"): 1}
    assert _pricing_funnel(warehouse_db) == set()

    _write_lines(landing_dir / "r2.jsonl", [
        use("e4", "2024-08-02T08:00:00Z", "editor", user="u1"),  # (u1, editor) only: export stays
        _call("identify", "i2", "2024-08-02T08:00:00Z", user="u2", anon="dev"),  # dev's use and pricing view → u2
        page("h2", "2024-08-02T09:00:00Z", "/home", user="u3"),  # not /pricing: u3 stays out
        page("p4", "2024-08-02T10:00:00Z", "/pricing", user="u4"),
        _call("track", "s4", "2024-08-02T11:00:00Z", user="u4", event="signed_up"),
    ])
    run_pipeline(warehouse_db, landing_dir, run_id="r2")
    assert _feature_uses(warehouse_db) == {("u1", "editor"): 3, ("u1", "export"): 1, ("u2", "editor"): 2}
    assert _pricing_funnel(warehouse_db) == {("u2", 1, "08-01 09:00"), ("u4", 1, "08-02 10:00"),
                                             ("u4", 2, "08-02 11:00")}

    # an earlier link moves dev (its editor use and pricing view) from u2 to u5: u2 is recounted whole
    _write_lines(landing_dir / "r3.jsonl", [_call("identify", "i5", "2024-07-31T08:00:00Z", user="u5", anon="dev")])
    run_pipeline(warehouse_db, landing_dir, run_id="r3")
    assert _feature_uses(warehouse_db) == {("u1", "editor"): 3, ("u1", "export"): 1, ("u2", "editor"): 1,
                                           ("u5", "editor"): 1}
    assert _pricing_funnel(warehouse_db) == {("u5", 1, "08-01 09:00"), ("u4", 1, "08-02 10:00"),
                                             ("u4", 2, "08-02 11:00")}
    assert_matches_reference(warehouse_db, landing_dir)
    assert_equal_full_builds(warehouse_db, ("agg_feature_users", "agg_funnel_user_steps"))


def _lifecycle_days(conninfo: str) -> dict[str, tuple[int, int, int, int]]:
    with psycopg.connect(conninfo) as conn:
        return {f"{start:%m-%d}": (n, r, s, d) for start, n, r, s, d in conn.execute(
            "select period_start, new_users, returning_users, resurrecting_users, dormant_users"
            " from core.agg_user_lifecycle where period = 'day'")}


def test_lifecycle_counts_change_by_the_classes_of_the_person_days_a_run_adds_or_removes(
        warehouse_db: str, landing_dir: Path) -> None:
    """Late days make a person returning and another dormant; an earlier link takes a day from u2 to u3."""
    def page(mid: str, day: int, user: str | None = None, anon: str | None = None) -> dict:
        return _call("page", mid, f"2024-01-{day:02d}T10:00:00Z", user, anon, properties={"path": "/home"})

    _write_lines(landing_dir / "r1.jsonl", [
        page("a1", 1, user="u1"), page("a3", 3, user="u1"), page("b1", 1, user="u2"), page("d6", 6, anon="dev"),
        _call("identify", "i2", "2024-01-06T11:00:00Z", user="u2", anon="dev"),
    ])
    run_pipeline(warehouse_db, landing_dir, run_id="r1")
    # by hand (new, returning, resurrecting, dormant): u1 on 1 and 3, u2 on 1 and 6 (dev's page)
    assert _lifecycle_days(warehouse_db) == {"01-01": (2, 0, 0, 0), "01-02": (0, 0, 0, 2), "01-03": (0, 0, 1, 0),
                                             "01-04": (0, 0, 0, 1), "01-06": (0, 0, 1, 0), "01-07": (0, 0, 0, 1)}

    _write_lines(landing_dir / "r2.jsonl", [page("b2", 2, user="u2"), page("a4", 4, user="u1")])
    run_pipeline(warehouse_db, landing_dir, run_id="r2")
    # u2 returning on 2 and dormant on 3; u1 returning on 4, dormant on 5
    assert _lifecycle_days(warehouse_db) == {"01-01": (2, 0, 0, 0), "01-02": (0, 1, 0, 1), "01-03": (0, 0, 1, 1),
                                             "01-04": (0, 1, 0, 0), "01-05": (0, 0, 0, 1), "01-06": (0, 0, 1, 0),
                                             "01-07": (0, 0, 0, 1)}

    _write_lines(landing_dir / "r3.jsonl", [_call("identify", "i3", "2023-12-31T10:00:00Z", user="u3", anon="dev")])
    run_pipeline(warehouse_db, landing_dir, run_id="r3")
    # dev's page on the 6th is u3's now: u3 new on 6, dormant on 7; u2 has no day after the 2nd
    assert _lifecycle_days(warehouse_db) == {"01-01": (2, 0, 0, 0), "01-02": (0, 1, 0, 1), "01-03": (0, 0, 1, 1),
                                             "01-04": (0, 1, 0, 0), "01-05": (0, 0, 0, 1), "01-06": (1, 0, 0, 0),
                                             "01-07": (0, 0, 0, 1)}
    assert_matches_reference(warehouse_db, landing_dir)
    assert_equal_full_builds(warehouse_db, ("agg_user_lifecycle",))


@pytest.mark.parametrize("late", ["event", "identify"])
def test_activity_arriving_weeks_before_the_first_day_fills_every_day_up_to_it(
        warehouse_db: str, landing_dir: Path, late: str) -> None:
    """Late activity 36 days before the first day built: the quiet days between them are rows too."""
    ping = {"event": "ping"}
    _write_lines(landing_dir / "d1.jsonl", [
        _call("track", "s2", "2024-02-10T10:00:00Z", user="pat", **ping),
        *([_call("track", "s1", "2024-01-05T10:00:00Z", anon="dv", **ping)] if late == "identify" else []),
    ])
    run_pipeline(warehouse_db, landing_dir, run_id="r1")
    _write_lines(landing_dir / "d2.jsonl", [
        _call("track", "s1", "2024-01-05T10:00:00Z", user="pat", **ping) if late == "event"
        # dv's ping of 01-05 becomes pat's: pat is active on 01-05 too
        else _call("identify", "s3", "2024-03-20T10:00:00Z", user="pat", anon="dv"),
    ])
    run_pipeline(warehouse_db, landing_dir, run_id="r2")
    run_pipeline(warehouse_db, landing_dir, run_id="r3")  # nothing new
    with psycopg.connect(warehouse_db) as conn:
        got = {f"{d:%m-%d}": (dau, wau, mau) for d, dau, wau, mau in conn.execute(
            "select activity_date, dau, wau, mau from analytics.daily_active_users")}
    # by hand: pat active on 01-05 and 02-10; WAU 1 for 01-05 .. 01-11, MAU 1 for 01-05 .. 02-03 (29 days on)
    days = pd.date_range("2024-01-05", "2024-02-10")
    want = {f"{d:%m-%d}": (int(d.strftime("%m-%d") in ("01-05", "02-10")),
                           int(d <= pd.Timestamp("2024-01-11") or d == days[-1]),
                           int(d <= pd.Timestamp("2024-02-03") or d == days[-1])) for d in days}
    assert got == want
    assert_equal_full_builds(warehouse_db, ("agg_daily_active_users", "agg_user_lifecycle", "agg_daily_sessions",
                                            "agg_platform_daily_activity"))
