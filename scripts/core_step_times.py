"""Time each step of the core layer on a warehouse whose staging holds a batch core has not taken yet.

Usage: python scripts/core_step_times.py CONNINFO [--repeat 3] [--sql-dir DIR]

Runs `transform.LAYER_STEPS["core"]` as `transform.run_layer` does (same session settings, one transaction),
printing each step's wall seconds, the backend's CPU seconds (from /proc/<pid>/stat: the embedded server
runs on this machine) and the WAL bytes it wrote, then the deferred foreign-key checks a commit would run
(`set constraints all immediate`), then ROLLS BACK, so the same batch can be timed again (before/after
alternated; rolled-back rows leave dead tuples, so a fresh database copy per run is steadier).
`--sql-dir` points at another checkout's `sql/` folder (e.g. the code before a change).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import psycopg
from proc_cpu import proc_cpu

from saas_analytics import transform
from saas_analytics.config import get_settings


def wal_lsn(conn: psycopg.Connection) -> str:
    """The server's current WAL insert position."""
    return conn.execute("select pg_current_wal_insert_lsn()::text").fetchone()[0]


def wal_since(conn: psycopg.Connection, lsn: str) -> int:
    """WAL bytes written since `lsn` (the whole server's: run on a server nobody else writes to)."""
    return int(conn.execute("select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s::pg_lsn)", [lsn]).fetchone()[0])


def time_core(conninfo: str) -> list[tuple[str, int, float, float, int]]:
    """(step, rows, wall seconds, backend CPU seconds, WAL bytes) of one rolled-back core run."""
    out = []
    with psycopg.connect(conninfo) as conn:
        pid = conn.execute("select pg_backend_pid()").fetchone()[0]
        conn.execute("set work_mem = '256MB'")
        conn.execute("set temp_buffers = '1GB'")
        conn.execute("set random_page_cost = 1.1")
        try:
            for name in transform.LAYER_STEPS["core"]:
                lsn, cpu, wall = wal_lsn(conn), proc_cpu(pid).own, time.perf_counter()
                result = transform.run_steps(conn, "core", (name,), progress=lambda _: None)[0]
                out.append((name, result.rows, time.perf_counter() - wall, proc_cpu(pid).own - cpu,
                            wal_since(conn, lsn)))
            # the foreign key core.fact_events.user_id -> core.dim_users is deferred: its checks run at commit
            lsn, cpu, wall = wal_lsn(conn), proc_cpu(pid).own, time.perf_counter()
            conn.execute("set constraints all immediate")
            out.append(("(deferred FK checks)", 0, time.perf_counter() - wall, proc_cpu(pid).own - cpu,
                        wal_since(conn, lsn)))
        finally:
            conn.rollback()
    return out


def main() -> None:
    """Print a Markdown table per repeat and the per-step CPU medians."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("conninfo")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sql-dir", type=Path)
    args = parser.parse_args()
    if args.sql_dir:
        os.environ["SAAS_PROJECT_DIR"] = str(args.sql_dir.resolve().parent)
        get_settings.cache_clear()
    runs = [time_core(args.conninfo) for _ in range(args.repeat)]
    print("| step | rows | wall s (each run) | CPU s (each run) | WAL MB (each run) |")
    print("|---|---:|---|---|---|")
    for i, (name, rows, *_) in enumerate(runs[0]):
        walls = ", ".join(f"{run[i][2]:.3f}" for run in runs)
        cpus = ", ".join(f"{run[i][3]:.2f}" for run in runs)
        wals = ", ".join(f"{run[i][4] / 1e6:.1f}" for run in runs)
        print(f"| {name} | {rows:,} | {walls} | {cpus} | {wals} |")
    totals = [(sum(r[2] for r in run), sum(r[3] for r in run), sum(r[4] for r in run)) for run in runs]
    print("| **total** | | " + ", ".join(f"{w:.3f}" for w, _, _ in totals) + " | "
          + ", ".join(f"{c:.2f}" for _, c, _ in totals) + " | "
          + ", ".join(f"{b / 1e6:.1f}" for _, _, b in totals) + " |")


if __name__ == "__main__":
    main()
