"""What writing each layer's rows costs on its own, as a ratio to a bare COPY of the same events.

Usage: python scripts/layer_write_floor.py DBNAME [--repeat 3]

On a warehouse database that holds a history (e.g. `saas_bench_history` after `bench_history --keep`), measures
the part of a daily run no SQL rewrite can remove: putting each event's row, with its indexes, into the three
layers DESIGN.md's architecture stores it in (raw one jsonb row per line, staging one typed row, core one fact row).
Alternated, `--repeat` times:

* **bare COPY** (the baseline of `make bench` and `bench_history --big-day`): the raw layer's lines, written once
  to a gzip file as JSON text, straight into `COPY … (payload jsonb)` of a one-column table without an index;
* **each layer's write**: `insert … select` of that layer's own rows, already typed, in the order the run writes
  them, into an empty table made `like` it with all its indexes and constraints (no foreign key, no trigger), in
  one transaction, committed, then dropped. No parsing, typing, dedupe, identity, aggregate or check: only the
  heap, the indexes and their WAL.

Prints a Markdown table: median wall seconds, median backend CPU seconds (from /proc: the embedded server runs on
this machine) and the wall ratio to the bare COPY measured in the same round.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
from proc_cpu import proc_cpu
from psycopg import sql

from saas_analytics import bench, warehouse
from saas_analytics.config import get_settings

# (layer table, the order a run writes its rows in)
LAYERS = {
    "raw.events": "file_id, line_no",
    "staging.events": "staged_seq",
    "core.fact_events": "file_id, line_no",
}
FLOOR_TABLE = "public.layer_write_floor"


def dump_lines(conninfo: str, path: Path) -> int:
    """Write the raw layer's payloads as JSON Lines (gzip) in load order; lines written."""
    with psycopg.connect(conninfo) as conn, gzip.open(path, "wb", compresslevel=1) as out, conn.cursor() as cur:
        # CSV with the baseline's quote and delimiter: the JSON text as it is (text format would escape backslashes)
        with cur.copy("copy (select payload::text from raw.events order by file_id, line_no) to stdout"
                      " with (format csv, delimiter e'\\x02', quote e'\\x01')") as copy:
            for block in copy:
                out.write(block)
        lines = conn.execute("select count(*) from raw.events").fetchone()[0]
    return lines


def timed_copy_cpu(conninfo: str, path: Path) -> tuple[float, float]:
    """(wall, backend CPU) seconds of a bare COPY of `path` into a fresh one-column jsonb table (`make bench`'s)."""
    with psycopg.connect(conninfo) as conn:
        pid = conn.execute("select pg_backend_pid()").fetchone()[0]
        bench.new_baseline(conn)
        cpu, started = proc_cpu(pid).own, time.perf_counter()
        bench.copy_baseline(conn, path)
        wall, used = time.perf_counter() - started, proc_cpu(pid).own - cpu
        conn.execute("drop table bench_baseline")
        conn.commit()
    return wall, used


def timed_layer_write(conninfo: str, table: str, order: str) -> tuple[float, float]:
    """(wall, backend CPU) seconds of inserting `table`'s rows into an empty copy of it with its indexes."""
    schema, name = table.split(".")
    source = sql.Identifier(schema, name)
    target = sql.SQL(FLOOR_TABLE)
    with psycopg.connect(conninfo) as conn:
        pid = conn.execute("select pg_backend_pid()").fetchone()[0]
        conn.execute(sql.SQL("drop table if exists {}").format(target))
        conn.execute(sql.SQL("create table {} (like {} including all)").format(target, source))
        conn.commit()
        cpu, started = proc_cpu(pid).own, time.perf_counter()
        conn.execute(sql.SQL("insert into {} overriding system value select * from {} order by {}").format(
            target, source, sql.SQL(order)))
        conn.commit()
        wall, used = time.perf_counter() - started, proc_cpu(pid).own - cpu
        conn.execute(sql.SQL("drop table {}").format(target))
        conn.commit()
    return wall, used


def main() -> None:
    """Measure the bare COPY and each layer's write, alternated; print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dbname")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = get_settings()
    warehouse.start(settings)
    conninfo = warehouse.server_conninfo(settings, args.dbname)
    walls: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lines.jsonl.gz"
        lines = dump_lines(conninfo, path)
        for _ in range(args.repeat):
            copy_wall, copy_cpu = timed_copy_cpu(conninfo, path)
            round_ = {"bare COPY": (copy_wall, copy_cpu)}
            for table, order in LAYERS.items():
                round_[table] = timed_layer_write(conninfo, table, order)
            for label, (wall, cpu) in round_.items():
                walls.setdefault(label, []).append(wall)
                cpus.setdefault(label, []).append(cpu)
                ratios.setdefault(label, []).append(wall / copy_wall)
    print(f"`python scripts/layer_write_floor.py {args.dbname} --repeat {args.repeat}`: {lines:,} events\n")
    print("| write | wall s (median) | backend CPU s (median) | × bare COPY (median of rounds) |")
    print("|---|---:|---:|---:|")
    for label in walls:
        print(f"| {label} | {statistics.median(walls[label]):.2f} | {statistics.median(cpus[label]):.2f} | "
              f"{statistics.median(ratios[label]):.2f}× |")
    total = [sum(ratios[table][i] for table in LAYERS) for i in range(args.repeat)]
    print(f"| **the three layers' writes** | | | **{statistics.median(total):.2f}×** |")


if __name__ == "__main__":
    main()
