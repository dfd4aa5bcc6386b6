"""Time the analytics data checks (`sql/tests/assert_analytics_*.sql`) on a kept big day: per test, wall and CPU.

Usage:
  DATA_DIR=… python scripts/bench_analytics_checks.py prepare TEMPLATE READY
  DATA_DIR=… python scripts/bench_analytics_checks.py run READY [--repeat N] [--full]

`prepare` copies TEMPLATE (a database whose last core run is not yet checked, e.g. `p4_core`: a year of history
plus a 1 M-event day through core) to READY and runs on it what the pipeline runs before the analytics checks:
the core data checks and the refresh (`pipeline.check`, `pipeline.refresh`, as `bench_history` runs a day).
`run` copies READY to a scratch database per repetition (`create database … template READY strategy file_copy`:
every run sees the same scope), runs the analytics check stage as `pipeline.check` does (stage
`data_tests_analytics`, scoped unless `--full`), and prints the wall seconds of the scope steps and of each test
(`CheckScope.seconds`) and the CPU seconds of the checks' backend (`/proc/<pid>/stat`) over each. Set
SAAS_PROJECT_DIR to a checkout to time its SQL instead of this one's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import psycopg
from proc_cpu import server_processes

from saas_analytics import pipeline, transform, warehouse
from saas_analytics.config import get_settings


def backend_cpu(pgdata: Path, database: str) -> float:
    """CPU seconds (user + system) of the server's backends connected to `database`."""
    total = 0.0
    for pid, cpu in server_processes(pgdata)[1].items():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # a backend that ended meanwhile
            continue
        if f" {database} " in command:
            total += cpu.own
    return total


def clone(admin: str, source: str, target: str) -> None:
    """(Re)create `target` as a file copy of `source`."""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{target}" with (force)')
        conn.execute(f'create database "{target}" template "{source}" strategy file_copy')


def prepare(template: str, ready: str) -> None:
    """READY = TEMPLATE after the core data checks and the refresh, as a daily run leaves it."""
    settings = get_settings()
    clone(warehouse.server_conninfo(settings, "postgres"), template, ready)
    conninfo = warehouse.server_conninfo(settings, ready)
    for name, step in (("core checks", lambda: pipeline.check(conninfo, "achk", pipeline.CORE_TEST_LAYERS,
                                                              skip_unchanged=True)),
                       ("refresh", lambda: pipeline.refresh(conninfo, "achk", skip_unchanged=True))):
        started = time.perf_counter()
        step()
        print(f"{name}: {time.perf_counter() - started:.2f} s", flush=True)


def run_once(ready: str, full: bool) -> None:
    """One analytics check stage on a fresh copy of READY; prints per-test wall and backend CPU seconds."""
    settings = get_settings()
    scratch = f"{ready}_run"
    clone(warehouse.server_conninfo(settings, "postgres"), ready, scratch)
    conninfo = warehouse.server_conninfo(settings, scratch)
    marks: list[tuple[str, float]] = [("", 0.0)]

    def progress(message: str) -> None:  # after the scope steps, then after each test: the backend's CPU so far
        marks.append((message.split(":")[0], backend_cpu(settings.pgdata_dir, scratch)))

    started = time.perf_counter()
    _, scope = transform.run_checks(conninfo, pipeline.ANALYTICS_TEST_LAYERS, progress, stage="data_tests_analytics",
                                    full_reason="--full" if full else None,
                                    scope_stages=tuple(pipeline.CHECK_STAGES.values()))
    wall = time.perf_counter() - started
    used = {name: now - before for (_, before), (name, now) in zip(marks, marks[1:], strict=False)}
    used["scope"] = used.pop("data checks (scoped)", None) or used.pop("data checks (full)", 0.0)
    print(f"\n{scope.mode}: {wall:.2f} s wall, {marks[-1][1]:.2f} s backend CPU — {scope.reason}", flush=True)
    for name, seconds in scope.seconds.items():
        print(f"  {name}: {seconds:.3f} s wall, {used.get(name, 0.0):.2f} s CPU", flush=True)
    with psycopg.connect(warehouse.server_conninfo(settings, "postgres"), autocommit=True) as conn:
        conn.execute(f'drop database "{scratch}" with (force)')


def main() -> None:
    """Prepare the kept day, or time the analytics checks on copies of it."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare")
    prep.add_argument("template")
    prep.add_argument("ready")
    run = sub.add_parser("run")
    run.add_argument("ready")
    run.add_argument("--repeat", type=int, default=1)
    run.add_argument("--full", action="store_true")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.template, args.ready)
    else:
        for _ in range(args.repeat):
            run_once(args.ready, args.full)


if __name__ == "__main__":
    main()
