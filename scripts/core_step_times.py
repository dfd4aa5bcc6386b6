"""Time each step of the core layer on a warehouse whose staging holds a batch core has not taken yet.

Usage: python scripts/core_step_times.py CONNINFO [--repeat 3] [--sql-dir DIR]

Runs `transform.LAYER_STEPS["core"]` as `transform.run_layer` does (same session settings, one transaction),
printing each step's wall seconds and the backend's CPU seconds (from /proc/<pid>/stat: the embedded server
runs on this machine), then ROLLS BACK, so the same batch can be timed again (before/after alternated on one
database copy). `--sql-dir` points at another checkout's `sql/` folder (e.g. the code before a change).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import psycopg

from saas_analytics import transform
from saas_analytics.config import get_settings

TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    """User + system CPU seconds of a server backend so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def time_core(conninfo: str) -> list[tuple[str, int, float, float]]:
    """(step, rows, wall seconds, backend CPU seconds) of one rolled-back core run."""
    out = []
    with psycopg.connect(conninfo) as conn:
        pid = conn.execute("select pg_backend_pid()").fetchone()[0]
        conn.execute("set work_mem = '256MB'")
        conn.execute("set temp_buffers = '1GB'")
        conn.execute("set random_page_cost = 1.1")
        try:
            for name in transform.LAYER_STEPS["core"]:
                cpu, wall = backend_cpu(pid), time.perf_counter()
                result = transform.run_steps(conn, "core", (name,), progress=lambda _: None)[0]
                out.append((name, result.rows, time.perf_counter() - wall, backend_cpu(pid) - cpu))
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
    print("| step | rows | wall s (each run) | CPU s (each run) |")
    print("|---|---:|---|---|")
    for i, (name, rows, _, _) in enumerate(runs[0]):
        walls = ", ".join(f"{run[i][2]:.3f}" for run in runs)
        cpus = ", ".join(f"{run[i][3]:.2f}" for run in runs)
        print(f"| {name} | {rows:,} | {walls} | {cpus} |")
    totals = [(sum(r[2] for r in run), sum(r[3] for r in run)) for run in runs]
    print("| **total** | | " + ", ".join(f"{w:.3f}" for w, _ in totals) + " | "
          + ", ".join(f"{c:.2f}" for _, c in totals) + " |")


if __name__ == "__main__":
    main()
