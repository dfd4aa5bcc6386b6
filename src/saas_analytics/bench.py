"""`make bench`: loader throughput on a 1M-event day, as a ratio to a bare COPY of the same file."""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from saas_analytics import loader, warehouse
from saas_analytics.config import get_settings
from saas_analytics.simulator import SimulationConfig, simulate

BENCH_DB = "saas_bench"
# each line one untouched CSV field: no byte of JSON text is \x01 or \x02
BARE_COPY_SQL = "copy bench_baseline (payload) from stdin with (format csv, delimiter e'\\x02', quote e'\\x01')"


def build_day_file(path: Path, events: int, malformed_every: int = 0) -> int:
    """Write one landing file of `events` realistic lines (simulated events, repeated with new ids)."""
    with tempfile.TemporaryDirectory() as tmp:
        simulate(SimulationConfig(days=14, users=600, seed=1, malformed_rate=0, duplicate_rate=0, late_rate=0,
                                  fmt="snake"), Path(tmp))
        templates = []
        for day_file in sorted(Path(tmp).glob("*.gz")):
            with gzip.open(day_file, "rt") as fh:
                templates.extend(json.loads(line) for line in fh)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
        for i in range(events):
            if malformed_every and i % malformed_every == malformed_every - 1:
                out.write('{"message_id": "broken", "type": \n')
                continue
            record = dict(templates[i % len(templates)], message_id=f"bench-{i:08d}")
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
    return events


def new_baseline(conn: psycopg.Connection) -> None:
    """An empty one-column jsonb table `bench_baseline` (committed), the target of the baseline COPY."""
    conn.execute("drop table if exists bench_baseline")
    conn.execute("create table bench_baseline (payload jsonb)")
    conn.commit()


def copy_baseline(conn: psycopg.Connection, path: Path, threaded: bool = False) -> None:
    """The baseline: the file's bytes straight into COPY of `bench_baseline`, committed."""
    with conn.cursor() as cur, cur.copy(
        BARE_COPY_SQL, writer=QueuedLibpqWriter(cur) if threaded else None,
    ) as copy, gzip.open(path, "rb") as fh:
        while chunk := fh.read(loader.BLOCK_BYTES):
            copy.write(chunk)
    conn.commit()


def bare_copy(conninfo: str, path: Path, threaded: bool = False) -> float:
    """Seconds for the baseline: the file's bytes straight into COPY of a one-column jsonb table."""
    with psycopg.connect(conninfo) as conn:
        new_baseline(conn)
        started = time.perf_counter()
        copy_baseline(conn, path, threaded)
        return time.perf_counter() - started


def loader_run(conninfo: str, path: Path) -> float:
    """Seconds for the real loader (registry, line numbers, rejects, audit) on a fresh raw layer."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("truncate raw.events, raw.rejected_lines, raw.load_files, raw.load_failures,"
                     " raw.load_batches cascade")
    started = time.perf_counter()
    loader.load_landing(conninfo, path.parent, progress=lambda _line: None)
    return time.perf_counter() - started


def main() -> None:
    """Measure and print a Markdown table (paste it into docs/benchmarks.md)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    conninfo = warehouse.fresh_database(BENCH_DB)
    with tempfile.TemporaryDirectory() as tmp:
        clean = Path(tmp) / "clean" / "events_2026-06-01.jsonl.gz"
        dirty = Path(tmp) / "dirty" / "events_2026-06-01.jsonl.gz"
        clean.parent.mkdir()
        dirty.parent.mkdir()
        print(f"bench: writing a {args.events:,}-event day file …", flush=True)
        build_day_file(clean, args.events)
        build_day_file(dirty, args.events, malformed_every=500)
        with gzip.open(clean) as fh:
            size_mb = fh.seek(0, 2) / 1e6
        times: dict[str, list[float]] = {"bare COPY (baseline)": [], "bare COPY, threaded writer": [],
                                         "loader": [], "loader, 0.2 % malformed": []}
        for i in range(args.repeats):
            times["bare COPY (baseline)"].append(bare_copy(conninfo, clean))
            times["bare COPY, threaded writer"].append(bare_copy(conninfo, clean, threaded=True))
            times["loader"].append(loader_run(conninfo, clean))
            times["loader, 0.2 % malformed"].append(loader_run(conninfo, dirty))
            print(f"bench: round {i + 1}/{args.repeats} done", flush=True)
    baseline = statistics.median(times["bare COPY (baseline)"])
    print(f"\n{args.events:,} events, {size_mb:,.0f} MB of JSON Lines (gzip on disk), median of {args.repeats} runs\n")
    print("| method | seconds | rows/s | ratio to bare COPY |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} | {args.events / median:,.0f} | {baseline / median:.2f} |")
    with psycopg.connect(warehouse.server_conninfo(get_settings(), "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(BENCH_DB)))


if __name__ == "__main__":
    main()
