"""`python -m saas_analytics.bench_product`: the product views' cost on 30 and 360 simulated days.

For each history length: load every day but the last in one run, then the last day as a daily run, and
print the seconds of that daily run's session steps and of each product view's refresh (Markdown rows for
docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from saas_analytics import pipeline, transform, warehouse
from saas_analytics.config import get_settings
from saas_analytics.queries import scalar
from saas_analytics.simulator import SimulationConfig, simulate

BENCH_DB = "saas_bench_product"
CORE_STEPS = ("core.session_scope", "core.fact_sessions")
VIEWS = tuple(f"analytics.{name}" for name in (
    "user_lifecycle", "funnel_user_steps", "funnel_conversion", "daily_sessions", "acquisition_monthly",
    "user_retention_cohorts", "daily_active_users"))


def measure(days: int, users: int) -> list[tuple[str, int, float]]:
    """(step or view, rows, seconds) of the daily run after `days - 1` days of history."""
    conninfo = warehouse.fresh_database(BENCH_DB)
    with tempfile.TemporaryDirectory() as tmp:
        simulated, landing = Path(tmp) / "simulated", Path(tmp) / "landing"
        simulated.mkdir()
        landing.mkdir()
        simulate(SimulationConfig(days=days, users=users, seed=42), simulated)
        files = sorted(simulated.glob("*.jsonl.gz"))
        results = []
        for run, batch in (("history", files[:-1]), ("daily", files[-1:])):
            for path in batch:
                shutil.copy(path, landing / path.name)
            pipeline.load(conninfo, run, landing)
            pipeline.build_layer(conninfo, run, "staging")
            core = transform.run_layer(conninfo, "core", progress=lambda _line: None)
            views = transform.refresh_analytics(conninfo, progress=lambda _line: None)
            results = [(r.name, r.rows, r.seconds) for r in core + views if r.name in CORE_STEPS + VIEWS]
        with psycopg.connect(conninfo) as conn:
            events = scalar(conn, "core_event_count")
        results.append(("core.fact_events (rows in history)", events, 0.0))
    return results


def main() -> None:
    """Print one Markdown table per history length."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, nargs="+", default=[30, 360])
    parser.add_argument("--users", type=int, default=800)
    args = parser.parse_args()
    for days in args.days:
        print(f"\n{days} simulated days, {args.users} users: the daily run after {days - 1} days of history\n")
        print("| step / view | rows | seconds |")
        print("|---|---:|---:|")
        for name, rows, seconds in measure(days, args.users):
            print(f"| {name} | {rows:,} | {seconds:.2f} |")
    with psycopg.connect(warehouse.server_conninfo(get_settings(), "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(BENCH_DB)))


if __name__ == "__main__":
    main()
