"""Summarise the plans `bench_history --explain` logged (auto_explain) per run: buffers per statement.

Usage: python scripts/plan_buffers.py SERVER_LOG [--from-line N] [--tables raw.events,staging.events,core.fact_events]
[--top 8]. Each logged statement is credited to the run whose id it last saw in a query parameter
('bench-early', 'bench-late', …); for the statements that name one of the tables, prints their
top-level buffers (shared hit + read), the duration and the plan lines that scan those tables.
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from pathlib import Path

ENTRY = re.compile(r"^\S+ \S+ \S+ \[\d+\] LOG:  duration: ([\d.]+) ms  plan:$")
RUN = re.compile(r"'(bench-[a-z0-9-]+)'")
BUFFERS = re.compile(r"Buffers: shared(?: hit=(\d+))?(?: read=(\d+))?")
SCAN = re.compile(r"(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan|Bitmap Index Scan)"
                  r"(?: Backward)?(?: using (\S+))? on (\S+)")


def entries(lines: list[str]):
    """(duration ms, the entry's lines) for every logged plan."""
    current: list[str] | None = None
    duration = 0.0
    for line in lines:
        match = ENTRY.match(line)
        if match:
            if current is not None:
                yield duration, current
            current, duration = [], float(match.group(1))
        elif current is not None and line.startswith(("\t", " ")):
            current.append(line.rstrip("\n"))
        elif current is not None:
            yield duration, current
            current = None
    if current is not None:
        yield duration, current


def main() -> None:
    """Print, per run, the statements naming the big tables with their buffers and scans."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("log", type=Path)
    parser.add_argument("--from-line", type=int, default=0)
    parser.add_argument("--tables", default="raw.events,staging.events,core.fact_events")
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    tables = args.tables.split(",")
    short = {t.split(".")[1] for t in tables}
    lines = args.log.read_text(errors="replace").splitlines()[args.from_line:]
    run = "?"
    per_run: dict[str, list] = defaultdict(list)
    for duration, body in entries(lines):
        text = "\n".join(body)
        found = RUN.search(text)
        if found:
            run = found.group(1)
        query = text.split("Query Parameters:")[0].split("\n\t")[0] if "Query Text:" in text else text
        query_text = text[text.find("Query Text:"):]
        if not any(t in query_text for t in tables):
            continue
        buffers = BUFFERS.search(text)
        hit, read = (int(buffers.group(1) or 0), int(buffers.group(2) or 0)) if buffers else (0, 0)
        scans = [f"{m.group(1)}{' ' + m.group(2) if m.group(2) else ''} on {m.group(3)}"
                 for m in SCAN.finditer(text) if m.group(3) in short]
        first = next((line.strip() for line in body if "Query Text:" in line), query)[:110]
        per_run[run].append((hit + read, read, duration, first, scans))
    for run, statements in per_run.items():
        total = sum(s[0] for s in statements)
        print(f"\n## {run}: {len(statements)} statements naming {', '.join(tables)}; "
              f"buffers {total:,} ({total * 8 / 1024:,.0f} MB), read {sum(s[1] for s in statements):,}, "
              f"{sum(s[2] for s in statements) / 1000:.2f} s")
        for buffers, read, duration, first, scans in sorted(statements, key=lambda s: -s[0])[:args.top]:
            print(f"- {buffers:,} buffers ({read:,} read), {duration / 1000:.2f} s: {first}")
            for scan in sorted(set(scans)):
                print(f"    {scan}")


if __name__ == "__main__":
    main()
