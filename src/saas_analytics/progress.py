"""Readable progress from Airflow's verbose output: task starts and our own stage lines, full log to a file."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+)")
TASK_END = re.compile(r"\[DAG TEST\] end task task_id=(\S+)")
OUR_LOG = re.compile(r"\[(?:info|warning|error)\s*\]\s+(.*?)\s+\[saas_analytics\.")
RUN_DONE = re.compile(r"DagRun Finished: .*?state=(\w+)")
PROBLEM = re.compile(r"\[error\s*\]|Traceback|Error:|FAILED", re.IGNORECASE)


def condense(line: str) -> str | None:
    """The short form of one Airflow output line worth showing, or None."""
    if m := TASK_START.search(line):
        return f"  ▸ {m.group(1)}"
    if m := OUR_LOG.search(line):
        return f"      {m.group(1)}"
    if m := RUN_DONE.search(line):
        return f"  run finished: {m.group(1)}"
    if PROBLEM.search(line) and "DeprecationWarning" not in line:
        return f"  ! {line.strip()[:300]}"
    return None


def run_with_progress(cmd: list[str], env: dict[str, str], log_path: Path,
                      echo: Callable[[str], None] = print, verbose: bool = False) -> int:
    """Run a command, keep its whole output in `log_path`, show condensed progress; return its exit code."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log, subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            short = line.rstrip() if verbose else condense(line)
            if short:
                echo(short)
        return proc.wait()
