"""Staging throughput and storage per layer (issue 10): `python -m saas_analytics.bench_staging`.

Lands one batch into a fresh database `saas_bench_staging` — the demo's simulation (`--demo`, 90 days ×
3,000 users, Segment camelCase, malformed lines and duplicates included) or `make bench`'s 1 M-line day file
(`--events N`) — loads it, then times the staging layer on it `--repeats` times (each run rolled back, the
last one committed), per step, in the same transaction settings as `transform.run_layer`. `--explain` prints
each step's `EXPLAIN (ANALYZE, BUFFERS)` instead. Then core runs once and the bytes per event of each layer
are printed (the query of `bench_history.bytes_per_event`), with the big tables' heap, TOAST and indexes.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

BENCH_DB = "saas_bench_staging"
BIG_TABLES = ("raw.events", "staging.events", "core.fact_events")


def land_batch(folder: Path, demo: bool, events: int) -> tuple[int, int]:
    """Write the batch's landing files; (lines, uncompressed bytes)."""
    from saas_analytics.bench import build_day_file
    from saas_analytics.simulator import SimulationConfig, simulate

    if demo:
        simulate(SimulationConfig(), folder)
    else:
        build_day_file(folder / "events_2026-06-01.jsonl.gz", events)
    lines = size = 0
    for path in folder.rglob("*.gz"):
        with gzip.open(path, "rb") as fh:
            data = fh.read()
        size += len(data)
        lines += sum(1 for line in data.splitlines() if line.strip())
    return lines, size


def time_staging(conninfo: str, commit: bool, before_sql: Path | None = None) -> dict[str, float]:
    """Run the staging steps once in run_layer's settings; {step: seconds}; rolled back unless `commit`.

    With `before_sql` (the `sql/` folder of an older checkout), its staging SQL runs instead, with the
    timestamp check of migration 0001 put back inside the (rolled-back) transaction.
    """
    from saas_analytics import transform

    with psycopg.connect(conninfo) as conn:
        conn.execute("set work_mem = '256MB'")
        conn.execute("set random_page_cost = 1.1")
        started = time.perf_counter()
        if before_sql is None:
            results = transform.run_steps(conn, "staging", transform.LAYER_STEPS["staging"], progress=lambda _: None)
        else:
            conn.execute(_migration_0011().TIMESTAMP_CHECK_0001)
            results = []
            for name in transform.LAYER_STEPS["staging"]:
                step_started = time.perf_counter()
                text = (before_sql / "staging" / f"{name}.sql").read_text()
                if transform.TEMP_TABLE_LINE.search(text):
                    conn.execute(sql.SQL("create temp table {} on commit drop as ").format(sql.Identifier(name))
                                 + sql.SQL(text.strip().rstrip(";")))
                    conn.execute(sql.SQL("analyze {}").format(sql.Identifier(name)))
                else:
                    conn.execute(sql.SQL(text))
                results.append(transform.StepResult(f"staging.{name}", 0, time.perf_counter() - step_started))
        if commit:
            conn.commit()
        else:
            conn.rollback()
        out = {r.name.split(".", 1)[1]: r.seconds for r in results}
        out["total (incl. commit)"] = time.perf_counter() - started
    return out


def _migration_0011():  # noqa: ANN202 (a module)
    """Migration 0011's module (its timestamp checks, before and after)."""
    import importlib

    return importlib.import_module("saas_analytics.migrations.versions.0011_staging_throughput_storage")


def explain_staging(conninfo: str) -> None:
    """Print each staging statement's EXPLAIN (ANALYZE, BUFFERS); rolled back."""
    from saas_analytics import transform

    with psycopg.connect(conninfo) as conn:
        conn.execute("set work_mem = '256MB'")
        conn.execute("set random_page_cost = 1.1")
        for name in transform.LAYER_STEPS["staging"]:
            text = transform.read_sql("staging", name)
            # explain analyze of a `create table … as` creates the temp table the later steps read
            statement = sql.SQL("explain (analyze, buffers) ") + transform.step_statement("staging", name)
            plan = conn.execute(statement).fetchall()
            if transform.TEMP_TABLE_LINE.search(text):
                conn.execute(sql.SQL("analyze {}").format(sql.Identifier(name)))
            print(f"\n--- staging.{name}")
            print("\n".join(row[0] for row in plan))
        conn.rollback()


def layer_sizes(conninfo: str) -> tuple[int, list[tuple[str, int]], list[tuple]]:
    """(raw events, [(layer, bytes)], [(table, heap, toast, indexes)]): what each layer occupies."""
    from saas_analytics import queries

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("vacuum analyze")
        events = queries.scalar(conn, "raw_event_count") or 1
        layers = conn.execute(
            "select n.nspname, sum(pg_total_relation_size(c.oid))::bigint from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where c.relkind in ('r', 'm', 'p') and n.nspname = any(%s) group by 1 order by 1",
            [["raw", "staging", "core", "analytics", "ml"]]).fetchall()
        tables = [
            conn.execute(
                "select %s, pg_relation_size(c.oid), coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0),"
                " pg_indexes_size(c.oid) from pg_class c where c.oid = %s::regclass", [name, name]).fetchone()
            for name in BIG_TABLES
        ]
    return events, layers, tables


def main() -> None:
    """Land, load, time staging per step, run core, print sizes."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", action="store_true", help="the demo's simulation instead of the 1 M-line day")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--explain", action="store_true", help="print each staging step's plan (rolled back)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--before-sql", type=Path,
                        help="the sql/ folder of an older checkout: its staging runs alternating with this one's")
    parser.add_argument("--no-core", action="store_true", help="staging only: no core run, no sizes")
    parser.add_argument("--revision", default="head",
                        help="migrate to this revision (with SAAS_PROJECT_DIR at an older checkout: the 'before')")
    args = parser.parse_args()
    from saas_analytics import loader, transform, warehouse
    from saas_analytics.config import get_settings

    conninfo = warehouse.fresh_database(BENCH_DB, args.revision)
    with tempfile.TemporaryDirectory() as tmp:
        lines, landed = land_batch(Path(tmp), args.demo, args.events)
        started = time.perf_counter()
        loader.load_landing(conninfo, Path(tmp), progress=lambda _line: None, settle_seconds=0)
        print(f"bench-staging: {lines:,} lines landed, loaded in {time.perf_counter() - started:.1f}s", flush=True)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("vacuum analyze raw.events")
    if args.explain:
        explain_staging(conninfo)
    runs, before = [], []
    for i in range(args.repeats):
        if args.before_sql:  # alternating, same data, same minute: the older checkout's staging, rolled back
            before.append(time_staging(conninfo, commit=False, before_sql=args.before_sql))
            print(f"bench-staging: before {before[-1]['total (incl. commit)']:.2f}s", flush=True)
        if i == args.repeats - 1:  # rolled-back runs left dead rows and index entries: the committed run starts clean
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute("truncate staging.events, staging.quarantine, staging.duplicates, staging.staged_files")
        runs.append(time_staging(conninfo, commit=i == args.repeats - 1))
        print(f"bench-staging: this checkout {runs[-1]['total (incl. commit)']:.2f}s", flush=True)
    if before:
        median = statistics.median(r["total (incl. commit)"] for r in before)
        each = ", ".join(f"{r['total (incl. commit)']:.2f}" for r in before)
        print(f"\nbefore ({args.before_sql}), alternating with the runs below:\n")
        print("| step | seconds |\n|---|---:|")
        for step in before[0]:
            print(f"| {step} | {statistics.median(r[step] for r in before):.2f} |")
        print(f"\n**{lines / median:,.0f} lines/s** (runs: {each} s)")
    print(f"\nstaging of one {lines:,}-line batch ({'demo' if args.demo else 'bench day file'}), "
          f"median of {args.repeats} runs (the last one committed)\n")
    print("| step | seconds |\n|---|---:|")
    for step in runs[0]:
        print(f"| {step} | {statistics.median(r[step] for r in runs):.2f} |")
    total = statistics.median(r["total (incl. commit)"] for r in runs)
    each = ", ".join(f"{r['total (incl. commit)']:.2f}" for r in runs)
    print(f"\n**{lines / total:,.0f} lines/s** (runs: {each} s)")
    if not args.no_core:
        started = time.perf_counter()
        transform.run_layer(conninfo, "core", progress=lambda _: None)
        print(f"\ncore: {time.perf_counter() - started:.1f}s")
        events, layers, tables = layer_sizes(conninfo)
        print("\n| layer | bytes | bytes per event |\n|---|---:|---:|")
        for layer, size in layers:
            print(f"| {layer} | {size:,} | {size / events:,.0f} |")
        total_size = sum(s for _, s in layers)
        print(f"| total | {total_size:,} | {total_size / events:,.0f} |")
        print(f"| landed JSON lines (uncompressed) | {landed:,} | {landed / events:,.0f} |")
        print("\n| table | heap B/event | TOAST B/event | indexes B/event |\n|---|---:|---:|---:|")
        for name, heap, toast, indexes in tables:
            print(f"| {name} | {heap / events:,.0f} | {toast / events:,.0f} | {indexes / events:,.0f} |")
    if not args.keep:
        with psycopg.connect(warehouse.server_conninfo(get_settings(), "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(BENCH_DB)))


if __name__ == "__main__":
    main()
