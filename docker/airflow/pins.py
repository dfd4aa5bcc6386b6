"""Build-time helper for docker/airflow/Dockerfile (standard library only).

    python pins.py constraints AIRFLOW_CONSTRAINTS REQUIREMENTS > constraints.txt
        Airflow's constraints file for the base image (the exact versions the official image was
        built with) plus, for every package that file does not mention, this project's pin from
        requirements.txt. Used as `pip install -c`, it never moves a package the image already
        has, and pins what the project adds (scikit-learn, plotly, faker, ...) to the versions the
        project is tested with.

    python pins.py dependencies PYPROJECT > dependencies.txt
        The project's direct dependencies from pyproject.toml, one per line (what to install).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalize(name: str) -> str:
    """PEP 503 normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(lines: list[str]) -> dict[str, str]:
    """`name==version` lines (markers kept) by normalized name; comments and options skipped."""
    pins: dict[str, str] = {}
    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")) or "==" not in line:
            continue
        match = _NAME.match(line)
        if match:
            pins[normalize(match.group(1))] = line
    return pins


def merged_constraints(airflow_constraints: str, requirements: str) -> str:
    """Airflow's pins win; the project's pins fill the gaps."""
    airflow = pinned(airflow_constraints.splitlines())
    project = pinned(requirements.splitlines())
    extra = [line for name, line in sorted(project.items()) if name not in airflow and name != "saas-analytics"]
    return "\n".join([*airflow.values(), "# pins from requirements.txt", *extra]) + "\n"


def dependencies(pyproject: str) -> str:
    """The `[project] dependencies` list."""
    return "\n".join(tomllib.loads(pyproject)["project"]["dependencies"]) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "constraints":
        sys.stdout.write(merged_constraints(Path(argv[1]).read_text(), Path(argv[2]).read_text()))
        return 0
    if len(argv) == 2 and argv[0] == "dependencies":
        sys.stdout.write(dependencies(Path(argv[1]).read_text()))
        return 0
    sys.stderr.write(__doc__ or "")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
