"""Time the core data checks (raw, staging, core) on a kept warehouse: scoped and full, per assert.

Usage: DATA_DIR=… python scripts/bench_checks.py DATABASE [--mode scoped|full|both] [--repeat N]

DATABASE is a database on the embedded server of DATA_DIR whose last core run has not been checked yet
(e.g. a copy of `bench_history --keep`'s database after a big day's load, staging and core). The checks
run as check stage `bench_checks`, whose watermark is set to that of `data_tests_core` before every
run, with no consumer stages (`scope_stages=()`): no scope row is deleted, so every run sees the same
scope. `scoped` runs the scoped checks whatever the scope's size (for the code before 0016's change: the
catch-up rule is lifted), `full`
a full sweep. Prints per run the wall seconds of the scope steps and of each assert (`CheckScope.seconds`), and the
CPU seconds of the whole server (`/proc/<pid>/stat` of the postmaster and its children: on one's own
server, the checks' backend plus the background processes; ended backends count through the
postmaster's `cutime`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import psycopg
from proc_cpu import proc_cpu, server_processes

from saas_analytics import pipeline, transform, warehouse
from saas_analytics.config import get_settings


def server_cpu(pgdata: Path) -> float:
    """CPU seconds (user + system) of the postmaster and all its children so far, ended ones included."""
    postmaster, children = server_processes(pgdata)
    server = proc_cpu(postmaster)  # its own time and that of its children that have exited (ended backends)
    return server.own + server.children + sum(child.own for child in children.values())


def reset_watermark(conninfo: str) -> int:
    """Set check stage bench_checks to where data_tests_core stands; returns that scope number."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        seq = conn.execute("select checked_seq from meta.check_watermarks where stage = 'data_tests_core'"
                           ).fetchone()[0]
        conn.execute("insert into meta.check_watermarks (stage, checked_seq, mode) values ('bench_checks', %s,"
                     " 'scoped') on conflict (stage) do update set checked_seq = excluded.checked_seq", [seq])
    return seq


def run_once(conninfo: str, pgdata: Path, full: bool) -> tuple[dict[str, tuple[float, float]], float, float, str]:
    """One check run: ({step: (wall s, server CPU s)}, wall s, server CPU s, the scope's reason)."""
    reset_watermark(conninfo)
    started, cpu = time.perf_counter(), server_cpu(pgdata)
    marks: list[tuple[str, float]] = [("", cpu)]

    def progress(message: str) -> None:  # after the scope steps, then after each test: CPU so far
        marks.append((message.split(":")[0], server_cpu(pgdata)))

    _, scope = transform.run_checks(conninfo, pipeline.CORE_TEST_LAYERS, progress, stage="bench_checks",
                                    full_reason="bench_checks --mode full" if full else None, scope_stages=())
    wall, cpu = time.perf_counter() - started, server_cpu(pgdata) - cpu
    used = {name: now - before for (_, before), (name, now) in zip(marks, marks[1:], strict=False)}
    used["scope"] = used.pop("data checks (scoped)", None) or used.pop("data checks (full)", 0.0)
    return {name: (seconds, used.get(name, 0.0)) for name, seconds in scope.seconds.items()}, wall, cpu, scope.reason


def main() -> None:
    """Run the checks as asked and print a Markdown table per mode."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database")
    parser.add_argument("--mode", choices=("scoped", "full", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    settings = get_settings()
    conninfo = warehouse.server_conninfo(settings, args.database)
    # a scope over half of core (a quarter before the third pass) is swept in full: scoped means scoped here
    transform.CHECK_FULL_SHARE = float("inf")
    modes = ("scoped", "full") if args.mode == "both" else (args.mode,)
    for _ in range(args.repeat):
        for mode in modes:
            steps, wall, cpu, reason = run_once(conninfo, settings.pgdata_dir, mode == "full")
            print(f"\n{mode}: {wall:.2f} s wall, {cpu:.2f} s server CPU — {reason}", flush=True)
            for name, (seconds, used) in steps.items():
                print(f"  {name}: {seconds:.2f} s wall, {used:.2f} s CPU", flush=True)


if __name__ == "__main__":
    main()
