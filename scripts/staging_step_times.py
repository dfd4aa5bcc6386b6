"""Time the staging layer as `transform.run_layer` runs it, on fresh copies of a database, before/after alternated.

Usage: python scripts/staging_step_times.py TEMPLATE_DB [--before CHECKOUT] [--repeat 2] [--keep]

Each run: `create database … template TEMPLATE_DB strategy file_copy` (a database whose raw holds a batch staging
has not taken yet, e.g. pass 4's `p4_raw`), then `transform.run_layer(copy, "staging")` — committed — in a
subprocess whose code is this checkout's, or `--before`'s (another checkout's root: its `src` and `sql`), then
the copy is dropped. Per step: wall seconds, the backend's CPU seconds and the CPU of the parallel workers
(from /proc: the embedded server runs on this machine; workers are counted when they exit, as the postmaster's
reaped children — an autovacuum worker exiting meanwhile is counted too). Runs alternate before/after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from proc_cpu import proc_cpu
from psycopg import sql


def one_run(conninfo: str) -> dict:
    """Run the staging layer once (this process's `saas_analytics`); per-step wall and CPU, as a dict."""
    from saas_analytics import transform

    dbname = psycopg.conninfo.conninfo_to_dict(conninfo)["dbname"]
    steps: list[dict] = []
    state: dict = {}

    def mark(message: str) -> None:
        """The progress callback: called after each step; reads the run's backend CPU and the workers'."""
        if "pid" not in state:
            with psycopg.connect(conninfo, autocommit=True) as side:
                state["pid"] = side.execute(
                    "select pid from pg_stat_activity where datname = %s and pid <> pg_backend_pid()"
                    " and backend_type = 'client backend'", [dbname]).fetchone()[0]
            state["postmaster"] = proc_cpu(state["pid"]).parent
        own = proc_cpu(state["pid"]).own
        workers = proc_cpu(state["postmaster"]).children
        now = time.perf_counter()
        steps.append({"step": message.split(":", 1)[0], "rows": message.split(": ", 1)[1].split(" rows")[0],
                      "wall": now - state["wall"], "cpu": own - state["cpu"], "workers": workers - state["workers"]})
        state.update(wall=now, cpu=own, workers=workers)

    # the baseline: the backend's CPU starts at ~0 (a fresh connection); the postmaster's reaped children now
    with psycopg.connect(conninfo, autocommit=True) as side:
        postmaster_pid = proc_cpu(side.execute("select pg_backend_pid()").fetchone()[0]).parent
    state.update(wall=time.perf_counter(), cpu=0.0, workers=proc_cpu(postmaster_pid).children)
    started = state["wall"]
    transform.run_layer(conninfo, "staging", progress=mark)
    return {"steps": steps, "total_wall": time.perf_counter() - started}


def copy_database(admin: str, template: str, name: str) -> None:
    """A fresh file copy of the template."""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {} template {} strategy file_copy").format(
            sql.Identifier(name), sql.Identifier(template)))


def drop_database(admin: str, name: str) -> None:
    """Drop a copy."""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def run_in(checkout: Path, conninfo: str) -> dict:
    """One run in a subprocess with `checkout`'s code and SQL."""
    env = dict(os.environ, SAAS_PROJECT_DIR=str(checkout), PYTHONPATH=str(checkout / "src"))
    out = subprocess.run([sys.executable, __file__, "--run", conninfo], env=env, check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    """Alternate before/after runs on fresh copies; print one Markdown table per run and the totals."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("template", nargs="?")
    parser.add_argument("--before", type=Path, help="another checkout's root (its src/ and sql/)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--run", help=argparse.SUPPRESS)  # internal: one run on this conninfo, JSON out
    args = parser.parse_args()
    if args.run:
        print(json.dumps(one_run(args.run)))
        return
    from saas_analytics import warehouse
    from saas_analytics.config import get_settings

    settings = get_settings()
    admin = warehouse.server_conninfo(settings, "postgres")
    this = Path(__file__).resolve().parents[1]
    sides = ([("before", args.before.resolve())] if args.before else []) + [("after", this)]
    totals: dict[str, list[tuple[float, float, float]]] = {label: [] for label, _ in sides}
    for i in range(args.repeat):
        for label, checkout in sides:
            name = f"stg_times_{label}"
            copy_database(admin, args.template, name)
            try:
                result = run_in(checkout, warehouse.server_conninfo(settings, name))
            finally:
                drop_database(admin, name)
            print(f"\n{label}, run {i + 1} ({checkout}):\n")
            print("| step | rows | wall s | backend CPU s | workers CPU s |\n|---|---:|---:|---:|---:|")
            for s in result["steps"]:
                print(f"| {s['step']} | {s['rows']} | {s['wall']:.2f} | {s['cpu']:.2f} | {s['workers']:.2f} |")
            cpu = sum(s["cpu"] for s in result["steps"])
            workers = sum(s["workers"] for s in result["steps"])
            print(f"| **total (wall incl. commit)** | | {result['total_wall']:.2f} | {cpu:.2f} | {workers:.2f} |",
                  flush=True)
            totals[label].append((result["total_wall"], cpu, workers))
    print("\n| code | runs: wall s / backend CPU s / workers CPU s | lines/s (best wall) |\n|---|---|---:|")
    for label, runs in totals.items():
        each = "; ".join(f"{w:.1f} / {c:.1f} / {k:.1f}" for w, c, k in runs)
        print(f"| {label} | {each} | {1_000_000 / min(w for w, _, _ in runs):,.0f} (per 1 M lines) |")


if __name__ == "__main__":
    main()
