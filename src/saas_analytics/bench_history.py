"""`make bench-history`: the cost of one daily run early and late in a long history (issue 10).

Simulates `--days` days (default: a year, 15,000 users, seed 7, from 2025-06-01), lands them into a fresh
benchmark database in stages and times single-day runs in the same invocation:

1. catch-up: days 1 … early−1 in one run;
2. **early day** (day `--early`, default 60): a single-day run, timed per stage;
3. catch-up: days early+1 … late−1 in one run (the churn model is trained at its end, so a champion exists);
4. **late day** (day `--late`, default 358): a single-day run, timed per stage (a day without retraining
   when the champion is younger than CHURN_RETRAIN_DAYS);
5. a forced retrain on the late day (`train_churn_model(force=True)`), timed: a retraining day's ML;
6. **nothing new**: the same stages again with no new file;
7. with `--big-day N`: **a 1 M-event day** on that history — the day after the late day, grown to N lines
   (`big_day_file`), timed stage by stage from landing to refreshed analytics (no ML) against a bare `COPY`
   of the same file into a scratch table (`bench.bare_copy`, the baseline of `make bench`), in the same run;
   then core's top steps on that day (seconds per step, from the core run's progress lines), for where core's
   time goes.

`--explain` logs `EXPLAIN (ANALYZE, BUFFERS)` of every statement of the early and late runs to the server log
(`auto_explain` on the benchmark database; `scripts/plan_buffers.py` sums the buffers per stage).

Stages run through the library functions the DAG's tasks call, with the DAG's arguments (skip rules
on): `pipeline.load`, `pipeline.build_layer`, `pipeline.check`, `pipeline.refresh`, the `ml.tasks`
functions — not through Airflow, so no scheduler or task start-up is timed. The DAG's two Airflow SQL
check operators are not part of "data checks" here. Stage seconds are wall-clock around each call.
Prints Markdown (paste into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import gzip
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from saas_analytics import queries

BENCH_DB = "saas_bench_history"
LAYERS = ("raw", "staging", "core", "analytics", "ml")


def stage_functions(conninfo: str, landing: Path, ml: bool) -> list[tuple[str, Callable[[str], object]]]:
    """(stage name, function of run_id) in DAG order; the ML tasks last."""
    from saas_analytics import pipeline
    from saas_analytics.ml import tasks

    stages: list[tuple[str, Callable[[str], object]]] = [
        ("load", lambda run: pipeline.load(conninfo, run, landing)),
        ("staging", lambda run: pipeline.build_layer(conninfo, run, "staging")),
        ("core", lambda run: pipeline.build_layer(conninfo, run, "core")),
        ("data checks (raw, staging, core)", lambda run: pipeline.check(conninfo, run, pipeline.CORE_TEST_LAYERS,
                                                                                 skip_unchanged=True)),
        ("refresh analytics", lambda run: pipeline.refresh(conninfo, run, skip_unchanged=True)),
        ("data checks (analytics)", lambda run: pipeline.check(conninfo, run, pipeline.ANALYTICS_TEST_LAYERS,
                                                                        skip_unchanged=True)),
    ]
    if ml:
        stages += [
            ("ML: train churn model", lambda run: tasks.train_churn_model(conninfo, run)),
            ("ML: score churn risk", lambda run: tasks.score_churn_risk(conninfo, run, skip_unchanged=True)),
            ("ML: segments", lambda run: tasks.segment_users(conninfo, run, skip_unchanged=True)),
            ("ML: anomalies", lambda run: tasks.detect_kpi_anomalies(conninfo, run, skip_unchanged=True)),
            ("ML: insights", lambda run: tasks.write_insights(conninfo, run, skip_unchanged=True)),
        ]
    return stages


def run_day(conninfo: str, landing: Path, run_id: str, ml: bool = True) -> dict[str, tuple[float, object]]:
    """Run every stage once; {stage: (seconds, returned summary)}."""
    out = {}
    for name, function in stage_functions(conninfo, landing, ml):
        started = time.perf_counter()
        result = function(run_id)
        out[name] = (time.perf_counter() - started, result)
        print(f"bench-history: {run_id} {name}: {out[name][0]:.2f}s", flush=True)
    return out


def land(files: list[tuple[Path, Path]], landing: Path) -> int:
    """Copy simulated files into the landing folder (keeping relative paths, old mtimes); lines landed."""
    lines = 0
    for source, relative in files:
        target = landing / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        os.utime(target, (time.time() - 3600, time.time() - 3600))
        with gzip.open(source, "rb") as fh:
            lines += sum(1 for line in fh if line.strip())
    return lines


def bytes_per_event(conninfo: str, landed_bytes: int) -> list[tuple[str, int, float]]:
    """(layer, total bytes of its tables, indexes and TOAST, bytes per raw line) — plus the landed JSON."""
    with psycopg.connect(conninfo) as conn:
        events = queries.scalar(conn, "raw_event_count") or 1
        rows = conn.execute(
            "select n.nspname, sum(pg_total_relation_size(c.oid))::bigint from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where c.relkind in ('r', 'm', 'p') and n.nspname = any(%s) group by 1", [list(LAYERS)]).fetchall()
    sizes = dict(rows)
    table = [(layer, int(sizes.get(layer, 0)), sizes.get(layer, 0) / events) for layer in LAYERS]
    total = sum(size for _, size, _ in table)
    table.append(("total", total, total / events))
    table.append(("landed JSON lines (uncompressed)", landed_bytes, landed_bytes / events))
    return table


def ml_detail(conninfo: str, run_id: str) -> str:
    """The train stage's verdict for a run (trained / skipped and why)."""
    with psycopg.connect(conninfo) as conn:
        row = queries.fetch_one(conn, "stage_detail", {"run_id": run_id, "stage": "train_churn_model"})
    if not row:
        return "-"
    detail = row["detail"]
    if "skipped" in detail:
        return f"skipped: {detail['skipped']}"
    return f"trained {detail.get('model_version')}, holdout ROC AUC {detail.get('roc_auc')}"


def ml_days(conninfo: str) -> None:
    """On a kept benchmark database: the ML of a day without retraining, of a retraining day, and a
    whole run with nothing new (twice: the first after the retraining rescores with the new champion)."""
    from saas_analytics.ml import tasks

    steps = (("score churn risk", tasks.score_churn_risk), ("segments", tasks.segment_users),
             ("anomalies", tasks.detect_kpi_anomalies), ("insights", tasks.write_insights))
    rows = {}
    for day, force in (("without retraining", False), ("retraining", True)):
        started = time.perf_counter()
        outcome = tasks.train_churn_model(conninfo, f"bench-ml-{force}", force=force)
        rows[day] = {"train churn model": time.perf_counter() - started}
        for name, function in steps:
            started = time.perf_counter()
            function(conninfo, f"bench-ml-{force}")
            rows[day][name] = time.perf_counter() - started
        print(f"bench-history: ML {day}: {outcome.get('skipped') or outcome.get('decision')}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in ("nothing-new-1", "nothing-new-2"):
            rows[attempt] = {k: v for k, (v, _) in run_day(conninfo, Path(tmp), f"bench-{attempt}").items()}
    print("\n| ML step | day without retraining | retraining day |")
    print("|---|---:|---:|")
    for name in rows["retraining"]:
        print(f"| {name} | {rows['without retraining'][name]:.2f} s | {rows['retraining'][name]:.2f} s |")
    print(f"| **ML total** | **{sum(rows['without retraining'].values()):.2f} s** | "
          f"**{sum(rows['retraining'].values()):.2f} s** |")
    print("\n| stage | nothing new (after a retraining) | nothing new (again) |")
    print("|---|---:|---:|")
    for name in rows["nothing-new-1"]:
        print(f"| {name} | {rows['nothing-new-1'][name]:.2f} s | {rows['nothing-new-2'][name]:.2f} s |")
    for attempt in ("nothing-new-1", "nothing-new-2"):
        print(f"{attempt}: total {sum(rows[attempt].values()):.2f} s, warehouse stages "
              f"{sum(v for k, v in rows[attempt].items() if not k.startswith('ML')):.2f} s")


# server-side and identity calls happen once per user and day; engagement events (they carry a session id)
# are what a busy day has many more of
REPEATABLE_KEY = "session_id"


def big_day_file(source: Path, target: Path, events: int) -> int:
    """Write one landing day of `events` lines grown from a simulated day file of the same history; lines written.

    Every line of `source` (a day after the landed history: real users, real dates, late arrivals, lines
    staging quarantines) that is JSON text jsonb accepts is kept once (a bare `COPY` into jsonb, the
    baseline, must take the same file); its engagement events — those with a session id — are then
    repeated, copy r with `-x<r>` appended to the message id and the session id, so each copy is a new,
    whole session of the same user on the same day (fresh ids, nothing a deduplication or a data check
    would reject).
    """
    import json

    with gzip.open(source, "rt", encoding="utf-8") as fh:
        texts = [line.rstrip("\n") for line in fh if line.strip()]
    lines, templates = [], []
    for line in texts:
        try:  # lines that are not JSON text are left out: the bare COPY into jsonb could not take them
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "\\u0000" in line:
            continue
        lines.append(line)
        if isinstance(record, dict) and isinstance(record.get("properties"), dict) \
                and REPEATABLE_KEY in record["properties"] and isinstance(record.get("messageId"), str):
            templates.append(record)
    if not templates:
        raise ValueError(f"{source} has no engagement events to grow a day from")
    written = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(target, "wt", encoding="utf-8", compresslevel=1) as out:
        for line in lines[:events]:
            out.write(line + "\n")
            written += 1
        copy = 0
        while written < events:
            copy += 1
            for record in templates[:events - written]:
                properties = dict(record["properties"])
                properties[REPEATABLE_KEY] = f"{properties[REPEATABLE_KEY]}-x{copy}"
                out.write(json.dumps({**record, "messageId": f"{record['messageId']}-x{copy}",
                                      "properties": properties}, separators=(",", ":")) + "\n")
                written += 1
    os.utime(target, (time.time() - 3600, time.time() - 3600))
    return written


# transform.run_steps logs one line per step ("core.fact_events: 991,099 rows in 12.34s")
STEP_LINE = re.compile(r"^core\.(?P<step>\w+): [\d,]+ rows in (?P<seconds>[\d.]+)s$")


class CoreStepTimes(logging.Handler):
    """Collects the core layer's seconds per step from transform's progress log lines."""

    def __init__(self) -> None:
        """An empty collection."""
        super().__init__(logging.INFO)
        self.seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        """Keep a core step's seconds; ignore every other line."""
        match = STEP_LINE.match(record.getMessage())
        if match:
            self.seconds[match["step"]] = self.seconds.get(match["step"], 0.0) + float(match["seconds"])


def big_day(conninfo: str, source: Path, relative: Path, landing: Path, events: int,
            copies: int = 3) -> tuple[dict[str, float], list[float], int, int, dict[str, float]]:
    """Land a grown day and time it: ({stage: seconds} through the analytics checks, bare COPY seconds, lines, bytes,
    {core step: seconds}).

    The bare COPY of the same file (median of `copies`, into a scratch table dropped afterwards) runs first,
    then the warehouse stages in DAG order through the same library calls as every other day, without ML.
    """
    from saas_analytics.bench import bare_copy

    path = landing / relative
    lines = big_day_file(source, path, events)
    with gzip.open(path, "rb") as fh:
        size = fh.seek(0, 2)
    print(f"bench-history: big day {relative}: {lines:,} lines, {size / 1e6:,.0f} MB of JSON", flush=True)
    copy_seconds = [bare_copy(conninfo, path) for _ in range(copies)]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("drop table if exists bench_baseline")
    print(f"bench-history: bare COPY {', '.join(f'{s:.2f}s' for s in copy_seconds)}", flush=True)
    steps, logger = CoreStepTimes(), logging.getLogger("saas_analytics.transform")
    level, propagate = logger.level, logger.propagate
    logger.addHandler(steps)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # collected here, not printed among the Markdown
    try:
        stages = {name: seconds for name, (seconds, _) in run_day(conninfo, landing, "bench-big-day", ml=False).items()}
    finally:
        logger.removeHandler(steps)
        logger.setLevel(level)
        logger.propagate = propagate
    return stages, copy_seconds, lines, size, steps.seconds


def print_big_day(command: str, stages: dict[str, float], copy_seconds: list[float], lines: int, size: int,
                  core_steps: dict[str, float] | None = None) -> None:
    """The big day as a Markdown table: each stage, the total to refreshed analytics and its ratio to bare COPY;
    then core's top steps, if given."""
    import statistics

    baseline = statistics.median(copy_seconds)
    through_refresh = list(stages)[:list(stages).index("refresh analytics") + 1]
    total = sum(stages[name] for name in through_refresh)
    print(f"\n`{command}`: a day of {lines:,} lines ({size / 1e6:,.0f} MB of JSON) after the landed history\n")
    print("| stage | seconds | lines/s | × bare COPY |")
    print("|---|---:|---:|---:|")
    print(f"| bare `COPY` of the same file (baseline, median of {len(copy_seconds)}: "
          f"{', '.join(f'{s:.2f}' for s in copy_seconds)} s) | {baseline:.2f} s | {lines / baseline:,.0f} | 1.0× |")
    for name, seconds in stages.items():
        if name not in through_refresh:
            continue
        print(f"| {name} | {seconds:.2f} s | {lines / seconds:,.0f} | {seconds / baseline:.1f}× |")
    print(f"| **landing → refreshed analytics** | **{total:.2f} s** | {lines / total:,.0f} | "
          f"**{total / baseline:.1f}×** (goal ≤ 6×) |")
    for name, seconds in stages.items():
        if name not in through_refresh:
            print(f"| (after the refresh) {name} | {seconds:.2f} s | {lines / seconds:,.0f} | "
                  f"{seconds / baseline:.1f}× |")
    if core_steps:
        print_core_steps(core_steps, stages.get("core", sum(core_steps.values())))


def print_core_steps(core_steps: dict[str, float], core_seconds: float, top: int = 8) -> None:
    """Core's slowest steps on the big day as a Markdown table (the rest summed; the commit's deferred checks are
    the stage's seconds not in any step)."""
    ranked = sorted(core_steps.items(), key=lambda item: -item[1])
    shown, rest = ranked[:top], ranked[top:]
    at_commit = max(core_seconds - sum(core_steps.values()), 0.0)
    print(f"\nWhere core's {core_seconds:.2f} s went on the big day (wall seconds per step, `sql/core/<step>.sql`):\n")
    print("| core step | seconds | share of core |")
    print("|---|---:|---:|")
    for name, seconds in shown:
        print(f"| {name} | {seconds:.2f} s | {seconds / core_seconds:.0%} |")
    if rest:
        other = sum(seconds for _, seconds in rest)
        print(f"| {len(rest)} other steps | {other:.2f} s | {other / core_seconds:.0%} |")
    print(f"| commit (the deferred foreign-key checks) and the stage's bookkeeping | {at_commit:.2f} s | "
          f"{at_commit / core_seconds:.0%} |")


AUTO_EXPLAIN = {"session_preload_libraries": "auto_explain", "auto_explain.log_min_duration": "0",
                "auto_explain.log_analyze": "on", "auto_explain.log_buffers": "on",
                "auto_explain.log_nested_statements": "on", "auto_explain.log_timing": "off"}


def explain_runs(conninfo: str, on: bool) -> None:
    """Log (or stop logging) EXPLAIN (ANALYZE, BUFFERS) of every statement of new sessions in the server log.

    Through `auto_explain` set on the benchmark database (a superuser setting: the embedded server's user),
    so the plans are those of the real runs; row timing is off, but the explained runs still run slower.
    """
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for name, value in AUTO_EXPLAIN.items():
            if on:
                conn.execute(sql.SQL("alter database {} set {} = {}").format(
                    sql.Identifier(BENCH_DB), sql.Identifier(*name.split(".")), sql.Literal(value)))
            else:
                conn.execute(sql.SQL("alter database {} reset {}").format(
                    sql.Identifier(BENCH_DB), sql.Identifier(*name.split("."))))


def main() -> None:
    """Simulate, land in stages, time the early, late and nothing-new runs; print Markdown."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=360)
    parser.add_argument("--users", type=int, default=15_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 6, 1))
    parser.add_argument("--early", type=int, default=60, help="1-based day of the early single-day run")
    parser.add_argument("--late", type=int, default=358, help="1-based day of the late single-day run")
    parser.add_argument("--no-ml", action="store_true", help="time the warehouse stages only")
    parser.add_argument("--big-day", type=int, default=0, metavar="LINES",
                        help="then land the day after --late grown to LINES lines (e.g. 1000000) and time it from"
                             " landing to refreshed analytics against a bare COPY of the same file")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--explain", action="store_true",
                        help="log the plans (EXPLAIN ANALYZE, BUFFERS) of the early and late runs' statements to"
                             " the server log with auto_explain (those runs are slower)")
    parser.add_argument("--ml-days", action="store_true",
                        help="on the database kept by --keep: time the ML of a day without and with retraining,"
                             " and runs with nothing new")
    args = parser.parse_args()
    os.environ["LANDING_SETTLE_SECONDS"] = "0"
    from saas_analytics import warehouse
    from saas_analytics.config import get_settings
    from saas_analytics.ml import tasks
    from saas_analytics.simulator import SimulationConfig, simulate

    get_settings.cache_clear()
    if args.ml_days:
        settings = get_settings()
        warehouse.start(settings)
        conninfo = warehouse.server_conninfo(settings, BENCH_DB)
        warehouse.migrate(replace(settings, database_url=conninfo))
        ml_days(conninfo)
        return
    if not 1 < args.early < args.late <= args.days:
        parser.error("need 1 < --early < --late <= --days")
    if args.big_day and args.late >= args.days:
        parser.error("--big-day lands the day after --late: need --late < --days")
    if args.big_day < 0:
        parser.error("--big-day must be a number of lines")
    ml = not args.no_ml
    conninfo = warehouse.fresh_database(BENCH_DB)
    results: dict[str, dict] = {}
    lines: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        simulated, landing = Path(tmp) / "simulated", Path(tmp) / "landing"
        started = time.perf_counter()
        summary = simulate(SimulationConfig(start=args.start, days=args.days, users=args.users, seed=args.seed),
                           simulated)
        print(f"bench-history: simulated {summary.lines:,} lines in {time.perf_counter() - started:.0f}s", flush=True)
        files = sorted((p, p.relative_to(simulated)) for p in simulated.rglob("*.gz"))
        landed_bytes = 0
        for path, _ in files:
            with gzip.open(path, "rb") as fh:
                landed_bytes += fh.seek(0, 2)
        early, late = args.early - 1, args.late - 1
        plan = [("catch-up-1", files[:early], False), ("early", files[early:early + 1], True),
                ("catch-up-2", files[early + 1:late], False), ("late", files[late:late + 1], True)]
        try:
            for name, batch, timed in plan:
                lines[name] = land(batch, landing)
                print(f"bench-history: {name}: {len(batch)} file(s), {lines[name]:,} lines", flush=True)
                if args.explain:
                    explain_runs(conninfo, on=timed)
                started = time.perf_counter()
                outcome = run_day(conninfo, landing, f"bench-{name}", ml=ml and (timed or name == "catch-up-2"))
                print(f"bench-history: {name} done in {time.perf_counter() - started:.0f}s", flush=True)
                if timed:
                    results[name] = outcome
        finally:
            if args.explain:
                explain_runs(conninfo, on=False)
        results["nothing new"] = run_day(conninfo, landing, "bench-nothing-new", ml=ml)
        lines["nothing new"] = 0
        if ml:
            started = time.perf_counter()
            tasks.train_churn_model(conninfo, "bench-late-retrain", force=True)
            results["retrain"] = {"ML: train churn model (forced retrain)": (time.perf_counter() - started, None)}
        sizes = bytes_per_event(conninfo, landed_bytes)
        if args.big_day:
            source, relative = files[late + 1]
            big = big_day(conninfo, source, relative, landing, args.big_day)

    print(f"\n`python -m saas_analytics.bench_history --days {args.days} --users {args.users} --seed {args.seed} "
          f"--start {args.start} --early {args.early} --late {args.late}{' --no-ml' if not ml else ''}`: "
          f"{summary.lines:,} lines simulated\n")
    print(f"| stage | day {args.early} ({lines['early']:,} lines) | lines/s | day {args.late} "
          f"({lines['late']:,} lines) | lines/s | per line, late / early | nothing new |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for stage in results["early"]:
        e, la, n = (results[k][stage][0] for k in ("early", "late", "nothing new"))
        ratio = (la / lines["late"]) / (e / lines["early"]) if e > 0 else float("nan")
        print(f"| {stage} | {e:.2f} s | {lines['early'] / e:,.0f} | {la:.2f} s | {lines['late'] / la:,.0f} | "
              f"{ratio:.1f}× | {n:.2f} s |")
    for key in ("early", "late", "nothing new"):
        total = sum(s for s, _ in results[key].values())
        warehouse_total = sum(s for k, (s, _) in results[key].items() if not k.startswith("ML"))
        ml_total = total - warehouse_total
        print(f"\n{key}: warehouse stages {warehouse_total:.2f} s, ML {ml_total:.2f} s, total {total:.2f} s")
    if ml:
        print(f"\nML on day {args.late}: {ml_detail(conninfo, 'bench-late')}; "
              f"forced retrain: {results['retrain']['ML: train churn model (forced retrain)'][0]:.2f} s "
              f"({ml_detail(conninfo, 'bench-late-retrain')}); nothing new: {ml_detail(conninfo, 'bench-nothing-new')}")
    print("\n| layer | bytes | bytes per event |")
    print("|---|---:|---:|")
    for layer, size, per in sizes:
        print(f"| {layer} | {size:,} | {per:,.0f} |")
    if args.big_day:
        print_big_day(f"python -m saas_analytics.bench_history --days {args.days} --users {args.users} "
                      f"--seed {args.seed} --start {args.start} --early {args.early} --late {args.late}"
                      f"{' --no-ml' if not ml else ''} --big-day {args.big_day}", *big)
    if not args.keep:
        with psycopg.connect(warehouse.server_conninfo(get_settings(), "postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(BENCH_DB)))


if __name__ == "__main__":
    main()
