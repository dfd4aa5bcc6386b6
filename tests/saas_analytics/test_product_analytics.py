"""Product analytics in the warehouse (lifecycle, funnels, sessions, acquisition) equal the pandas reference."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pandas as pd
import psycopg
import pytest

import product_fixtures as fx
import reference_product as rp
from pipeline_helpers import run_pipeline
from reference_metrics import read_landing, retention_cohorts
from saas_analytics import funnels, pipeline, transform
from saas_analytics.simulator import SimulationConfig, simulate

FUNNELS_YML = Path(__file__).parents[2] / "sql" / "funnels.yml"
KEYS = {
    "user_lifecycle": ["period", "period_start"],
    "daily_sessions": ["activity_date"],
    "funnel_conversion": ["funnel", "cohort_month", "step"],
    "acquisition_monthly": ["signup_month", "channel"],
}
# rounding of each numeric column in SQL (rates 6 decimals, seconds 3)
TOLERANCE = {
    "conversion_rate": 1e-6, "step_conversion_rate": 1e-6, "median_seconds_to_step": 1e-3,
    "avg_session_seconds": 1e-3, "median_session_seconds": 1e-3, "avg_events_per_session": 1e-6,
    "activation_rate": 1e-6, "paid_conversion_rate": 1e-6,
}


def query(conninfo: str, text: str) -> pd.DataFrame:
    """A query's rows as a DataFrame."""
    with psycopg.connect(conninfo) as conn:
        cur = conn.execute(text)
        return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


def as_float(values: list) -> list[float]:
    """Numbers as floats, None as NaN."""
    return [float("nan") if v is None else float(v) for v in values]


def assert_frame_matches(name: str, got: pd.DataFrame, want: pd.DataFrame, keys: list[str]) -> None:
    """Same rows (by key) and, per column, equal values (floats within the SQL rounding)."""
    got = got.sort_values(keys).reset_index(drop=True)
    want = want.sort_values(keys).reset_index(drop=True)
    assert len(got) == len(want), f"{name}: {len(got)} rows, expected {len(want)}"
    for column in want.columns:
        g, w = got[column].tolist(), want[column].tolist()
        if column in TOLERANCE or column == "duration_seconds":
            g, w = as_float(g), as_float(w)
            for i, (a, b) in enumerate(zip(g, w, strict=True)):
                ok = (math.isnan(a) and math.isnan(b)) or abs(a - b) <= TOLERANCE.get(column, 1e-6)
                assert ok, f"{name}.{column} row {i} ({want.loc[i, keys].tolist()}): {a} != {b}"
        else:
            first = next((i for i, (a, b) in enumerate(zip(g, w, strict=True)) if a != b), None)
            assert g == w, f"{name}.{column} differs, first at row {first}: {g[first]!r} != {w[first]!r}"


def assert_product_matches_reference(conninfo: str, landing_dir: Path) -> pd.DataFrame:
    """Every product object (and core.fact_sessions) equals the reference computed from the landing files."""
    events = read_landing(landing_dir).events
    definitions = rp.read_funnels(FUNNELS_YML)
    expected: dict[str, pd.DataFrame] = {
        "user_lifecycle": rp.user_lifecycle(events),
        "daily_sessions": rp.daily_sessions(events),
        "funnel_conversion": rp.funnel_conversion(events, definitions),
        "acquisition_monthly": rp.acquisition_monthly(events, definitions),
    }
    for name, want in expected.items():
        got = query(conninfo, f"select * from analytics.{name}")
        assert_frame_matches(name, got[want.columns] if len(got) else got.reindex(columns=want.columns), want,
                             KEYS[name])
    want_sessions = rp.sessions(events)[["user_id", "started_at", "session_date", "duration_seconds", "events"]]
    got_sessions = query(conninfo, "select user_id, started_at, session_date, duration_seconds, events"
                                   " from core.fact_sessions")
    assert_frame_matches("fact_sessions", got_sessions, want_sessions, ["user_id", "started_at"])
    cohorts = query(conninfo, "select cohort_month, months_since_signup, is_complete"
                              " from analytics.user_retention_cohorts order by 1, 2")
    want_cohorts = retention_cohorts(events).sort_values(["cohort_month", "months_since_signup"])
    assert cohorts["is_complete"].tolist() == rp.retention_is_complete(want_cohorts, events)
    return events


@pytest.mark.parametrize("story", [fx.funnel_story, fx.session_story, fx.lifecycle_story])
def test_hand_made_stories_match_the_reference(warehouse_db: str, landing_dir: Path,
                                               story: Callable[[Path], None]) -> None:
    story(landing_dir)
    run_pipeline(warehouse_db, landing_dir)
    assert_product_matches_reference(warehouse_db, landing_dir)


def test_funnel_story_by_hand_in_the_warehouse(warehouse_db: str, landing_dir: Path) -> None:
    """A few hand-computed values read straight from the warehouse (the reference is checked separately)."""
    fx.funnel_story(landing_dir)
    run_pipeline(warehouse_db, landing_dir)
    got = query(warehouse_db, "select step, entered_users, eligible_users, in_progress_users, reached_users,"
                              " median_seconds_to_step from analytics.funnel_conversion"
                              " where funnel = 'activation' and cohort_month = '2024-03-01' order by step")
    assert got.values.tolist() == [[1, 5, 5, 0, 5, Decimal("0.000")], [2, 5, 5, 0, 2, Decimal("604800.000")],
                                   [3, 5, 5, 0, 1, Decimal("0.000")]]
    may = query(warehouse_db, "select in_progress_users from analytics.funnel_conversion"
                              " where funnel = 'activation' and cohort_month = '2024-05-01'")
    assert may["in_progress_users"].tolist() == [1, 1, 1]


def test_demo_data_matches_the_reference(demo_warehouse: str, demo_landing: Path) -> None:
    events = assert_product_matches_reference(demo_warehouse, demo_landing)
    days = query(demo_warehouse, "select count(*) as n from analytics.user_lifecycle where period = 'day'")["n"][0]
    active_days = rp.activity(events)["date"]
    assert days == (max(active_days) - min(active_days)).days + 1 >= 90
    funnel_rows = query(demo_warehouse, "select distinct funnel from analytics.funnel_conversion")
    assert {"activation", "trial_to_paid"} <= set(funnel_rows["funnel"])


@pytest.fixture(scope="module")
def late_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated product with many late events (they reach days already processed)."""
    path = tmp_path_factory.mktemp("late") / "landing"
    path.mkdir()
    simulate(SimulationConfig(days=45, users=300, seed=7, late_rate=0.15, duplicate_rate=0.02), path)
    return path


def test_incremental_runs_with_late_events_equal_one_full_run(
    warehouse_db: str, landing_dir: Path, late_landing: Path
) -> None:
    files = sorted(p.relative_to(late_landing) for p in late_landing.rglob("*.jsonl.gz"))
    assert len(files) == 45
    for i, batch in enumerate([files[:10], files[10:11], files[11:25], files[25:26], files[26:]]):
        for f in batch:
            (landing_dir / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(late_landing / f, landing_dir / f)
        run_pipeline(warehouse_db, landing_dir, run_id=f"run{i}")
    assert_product_matches_reference(warehouse_db, late_landing)


def test_sessions_merge_and_split_when_late_events_arrive(warehouse_db: str, landing_dir: Path) -> None:
    """A late event bridging two sessions merges them; the data test recomputes every session from events."""
    fx.write(landing_dir, "a.jsonl", [
        fx.event("m1", "u", "2024-03-01T10:00:00Z", "page_viewed"),
        fx.event("m2", "u", "2024-03-01T11:00:00Z", "page_viewed"),
    ])
    run_pipeline(warehouse_db, landing_dir, run_id="first")
    assert query(warehouse_db, "select count(*) as n from core.fact_sessions")["n"][0] == 2
    fx.write(landing_dir, "b.jsonl", [fx.event("m3", "u", "2024-03-01T10:30:00Z", "page_viewed")])
    run_pipeline(warehouse_db, landing_dir, run_id="late")
    got = query(warehouse_db, "select events, duration_seconds from core.fact_sessions")
    assert got.values.tolist() == [[3, Decimal(3600)]]
    assert_product_matches_reference(warehouse_db, landing_dir)


def test_an_empty_warehouse_passes_every_view_and_test(warehouse_db: str, landing_dir: Path) -> None:
    run_pipeline(warehouse_db, landing_dir)
    for name in KEYS:
        assert query(warehouse_db, f"select count(*) as n from analytics.{name}")["n"][0] == 0
    assert pipeline.ANALYTICS_TEST_LAYERS == ("analytics",)


def test_adding_a_funnel_is_editing_the_yaml(warehouse_db: str, landing_dir: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    fx.funnel_story(landing_dir)
    run_pipeline(warehouse_db, landing_dir)
    edited = tmp_path / "funnels.yml"
    edited.write_text(FUNNELS_YML.read_text() + (
        "\n  - name: create_then_invite\n    window_days: 1\n    steps:\n"
        "      - event: document_created\n      - event: invited_teammate\n"))
    monkeypatch.setattr(funnels, "funnels_path", lambda: edited)
    transform.refresh_analytics(warehouse_db)
    got = query(warehouse_db, "select cohort_month, step, entered_users, reached_users"
                              " from analytics.funnel_conversion where funnel = 'create_then_invite' order by 1, 2")
    want = rp.funnel_conversion(read_landing(landing_dir).events, rp.read_funnels(edited))
    want = want[want["funnel"] == "create_then_invite"]
    assert got.values.tolist() == want[["cohort_month", "step", "entered_users", "reached_users"]].values.tolist()
    assert len(got) > 0
    pipeline.check(warehouse_db, "t", pipeline.ANALYTICS_TEST_LAYERS)


def test_a_broken_invariant_fails_its_data_test(warehouse_db: str, landing_dir: Path) -> None:
    fx.session_story(landing_dir)
    run_pipeline(warehouse_db, landing_dir)
    with psycopg.connect(warehouse_db, autocommit=True) as conn:
        conn.execute("update core.fact_sessions set events = events + 1 where user_id = 's3'")
    with pytest.raises(transform.DataTestError, match="assert_core_sessions_match_events.sql returned 1 rows"):
        pipeline.check(warehouse_db, "t", pipeline.CORE_TEST_LAYERS)


def test_after_migration_0008_the_next_core_run_rebuilds_every_session(warehouse_db: str, landing_dir: Path) -> None:
    """Migration 0008 leaves core.fact_sessions empty; the next core run (nothing new) rebuilds it whole."""
    fx.session_story(landing_dir)
    run_pipeline(warehouse_db, landing_dir, run_id="first")
    with psycopg.connect(warehouse_db, autocommit=True) as conn:
        conn.execute("delete from core.fact_sessions")
    run_pipeline(warehouse_db, landing_dir, run_id="after-upgrade")
    assert query(warehouse_db, "select count(*) as n from core.fact_sessions")["n"][0] == 4
    assert_product_matches_reference(warehouse_db, landing_dir)


def test_migration_0008_downgrades_and_upgrades(warehouse_db: str, landing_dir: Path) -> None:
    fx.session_story(landing_dir)
    run_pipeline(warehouse_db, landing_dir)  # the analytics views that read the new tables exist
    from alembic import command
    from alembic.config import Config

    from saas_analytics import warehouse

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(warehouse.__file__).parent / "migrations"))
    cfg.attributes["conninfo"] = warehouse_db
    cfg.attributes["reader_role"] = "analytics_reader"
    command.downgrade(cfg, "0003")
    columns = query(warehouse_db, "select column_name from information_schema.columns"
                                  " where table_schema = 'core' and table_name = 'fact_sessions'")
    assert "session_id" in set(columns["column_name"])
    command.upgrade(cfg, "head")
    keys = query(warehouse_db, "select a.attname from pg_index i join pg_attribute a"
                               " on a.attrelid = i.indrelid and a.attnum = any(i.indkey)"
                               " where i.indrelid = 'core.fact_sessions'::regclass and i.indisprimary")
    assert set(keys["attname"]) == {"user_id", "started_at"}
