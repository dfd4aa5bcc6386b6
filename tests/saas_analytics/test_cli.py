"""The command line: help everywhere, one-line errors with a non-zero exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from saas_analytics.cli import cli

COMMANDS = [[], ["warehouse"], ["warehouse", "start"], ["warehouse", "stop"], ["warehouse", "status"],
            ["warehouse", "url"], ["warehouse", "migrate"], ["simulate"], ["run"], ["summary"], ["psql"],
            ["report"], ["metabase"], ["metabase", "provision"]]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "main")
def test_every_command_has_help(args):
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run the installed entry point in a subprocess."""
    return subprocess.run([sys.executable, "-c", "from saas_analytics.cli import main; main()", *args],
                          env=env, capture_output=True, text=True, timeout=120)


def test_errors_are_one_line_with_a_non_zero_exit(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "WAREHOUSE_PGDATA"}}
    env["DATA_DIR"] = str(tmp_path / "nothing-here")
    result = run_cli("summary", env=env)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert lines == [lines[0]] and "embedded warehouse is not running" in lines[0]
    assert "Traceback" not in result.stderr

    status = run_cli("warehouse", "status", env=env)
    assert status.returncode == 1 and "not running" in status.stdout

    usage = run_cli("run", "--start", "2026-01-02", env=env)
    assert usage.returncode == 2 and "--start and --end go together" in usage.stderr


def test_simulate_writes_the_landing_files(tmp_path: Path):
    landing = tmp_path / "landing"
    result = CliRunner().invoke(cli, ["simulate", "--days", "3", "--users", "20", "--landing-dir", str(landing)])
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(landing).as_posix() for p in landing.rglob("*.gz")) == [
        "date=2026-06-01/events.jsonl.gz", "date=2026-06-02/events.jsonl.gz", "date=2026-06-03/events.jsonl.gz"]
    assert "3 files" in result.output
    snake = CliRunner().invoke(cli, ["simulate", "--days", "1", "--users", "5", "--format", "snake",
                                     "--landing-dir", str(tmp_path / "snake")])
    assert snake.exit_code == 0 and [p.name for p in (tmp_path / "snake").iterdir()] == ["events_2026-06-01.jsonl.gz"]


def test_warehouse_lifecycle_and_url(pg_server):
    """start is harmless when running; url and status describe the running server."""
    settings = pg_server["settings"]
    if not settings.embedded:
        pytest.skip("DATABASE_URL is set: the project does not manage that server")
    runner = CliRunner()
    assert runner.invoke(cli, ["warehouse", "status"]).exit_code == 0
    url = runner.invoke(cli, ["warehouse", "url"])
    assert url.exit_code == 0 and "dbname=warehouse" in url.output and str(settings.pgdata_dir) in url.output
    again = runner.invoke(cli, ["warehouse", "start"])
    assert again.exit_code == 0 and "ready" in again.output


def test_simulate_plants_incidents_and_rejects_bad_ones(tmp_path: Path):
    landing = tmp_path / "landing"
    ok = CliRunner().invoke(cli, ["simulate", "--days", "3", "--users", "20", "--landing-dir", str(landing),
                                  "--incident", "outage@2026-06-02"])
    assert ok.exit_code == 0, ok.output
    assert "outage on 2026-06-02" in ok.output
    bad = CliRunner().invoke(cli, ["simulate", "--days", "3", "--landing-dir", str(landing),
                                   "--incident", "outage-2026-06-02"])
    assert bad.exit_code == 2 and "KIND@YYYY-MM-DD" in bad.output
