"""CPU seconds of an embedded server's processes, from /proc: the figure the benchmark scripts compare.

A helper module of `scripts/` (each script finds it beside itself), not of the library: a script run against
another checkout's `saas_analytics` (`PYTHONPATH`, to time the code before a change) still has it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

TICKS = os.sysconf("SC_CLK_TCK")


class ProcCpu(NamedTuple):
    """A process's CPU seconds (user + system) so far — its own, and its exited children's — and its parent."""

    own: float
    children: float
    parent: int


def proc_cpu(pid: int) -> ProcCpu:
    """The CPU seconds of a process on this machine (an embedded server's backend), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return ProcCpu((int(fields[11]) + int(fields[12])) / TICKS, (int(fields[13]) + int(fields[14])) / TICKS,
                   int(fields[1]))


def server_processes(pgdata: Path) -> tuple[int, dict[int, ProcCpu]]:
    """The embedded server's postmaster pid, and the CPU of each of its running children (backends, workers)."""
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cpu = proc_cpu(int(entry.name))
        except OSError:  # a process that ended meanwhile
            continue
        if cpu.parent == postmaster:
            children[int(entry.name)] = cpu
    return postmaster, children
