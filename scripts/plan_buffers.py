"""Summarise the plans `bench_history --explain` logged (auto_explain): what each stage of a run read.

Usage: python scripts/plan_buffers.py SERVER_LOG [--from-line N] [--runs bench-early,bench-late]
[--tables raw.events,staging.events,core.fact_events] [--top 12]

A logged statement belongs to the stage whose `analytics.pipeline_run_stages` row is written next (each
stage records itself when it ends, with its run id and name as query parameters). Prints per run and stage
the shared buffers (hit + read, 8 kB pages) of the top-level plans of the statements that name one of the
tables, and the scan nodes on those tables with their own buffers and conditions, largest first.
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from pathlib import Path

ENTRY = re.compile(r"^\S+ \S+ \S+ \[\d+\] LOG:  duration: ([\d.]+) ms  plan:$")
STAGE_ROW = re.compile(r"Query Parameters: \$1 = '([^']*)', \$2 = '([^']*)', \$3 = '(?:success|failed|skipped)'")
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


def buffers_of(text: str) -> int:
    """Shared hit + read of a Buffers line (0 without one)."""
    found = BUFFERS.search(text)
    return int(found.group(1) or 0) + int(found.group(2) or 0) if found else 0


def scan_buffers(body: list[str], short: set[str]) -> list[tuple[str, int, str]]:
    """(scan node on one of the tables, its own shared buffers, its condition) for every such node of a plan."""
    out = []
    for i, line in enumerate(body):
        match = SCAN.search(line)
        if not match or match.group(3) not in short:
            continue
        indent = len(line) - len(line.lstrip())
        own, condition = 0, ""
        for following in body[i + 1:]:
            if len(following) - len(following.lstrip()) <= indent or "->" in following:
                break
            text = following.strip()
            if text.startswith(("Index Cond:", "Filter:", "Recheck Cond:")) and not condition:
                condition = text[:100]
            if text.startswith("Buffers:"):
                own = buffers_of(text)
        node = f"{match.group(1)}{' ' + match.group(2) if match.group(2) else ''} on {match.group(3)}"
        out.append((node, own, condition))
    return out


def main() -> None:
    """Print, per run and stage, the buffers of the statements naming the big tables and their scans."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("log", type=Path)
    parser.add_argument("--from-line", type=int, default=0)
    parser.add_argument("--runs", default="bench-early,bench-late")
    parser.add_argument("--tables", default="raw.events,staging.events,core.fact_events")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    tables, runs = args.tables.split(","), args.runs.split(",")
    short = {t.split(".")[1] for t in tables}
    lines = args.log.read_text(errors="replace").splitlines()[args.from_line:]
    pending: list[tuple[int, float, list]] = []
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0.0])
    scans: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for duration, body in entries(lines):
        text = "\n".join(body)
        stage_row = STAGE_ROW.search(text) if "analytics.pipeline_run_stages" in text else None
        if stage_row:
            run, stage = stage_row.groups()
            for root, ms, nodes in pending:
                total = totals[(run, stage)]
                total[0] += 1
                total[1] += root
                total[2] += ms
                for node, own, condition in nodes:
                    scans[run][(stage, node, condition)] += own
            pending = []
            continue
        query = text[text.find("Query Text:"):]
        nodes = scan_buffers(body, short)
        if nodes or any(t in query for t in tables):
            pending.append((buffers_of(text), duration, nodes))
    for run in runs:
        print(f"\n{run}: statements naming {', '.join(tables)}, per stage")
        print("| stage | statements | shared buffers (8 kB) | seconds |")
        print("|---|---:|---:|---:|")
        for (r, stage), (count, root, ms) in totals.items():
            if r == run:
                print(f"| {stage} | {count} | {root:,} | {ms / 1000:.2f} |")
        print(f"\n{run}: scan nodes on those tables, own buffers summed, largest first")
        for (stage, node, condition), own in sorted(scans[run].items(), key=lambda kv: -kv[1])[:args.top]:
            print(f"- {stage}: {own:,} — {node} [{condition}]")


if __name__ == "__main__":
    main()
