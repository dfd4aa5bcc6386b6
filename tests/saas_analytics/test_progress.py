"""Condensed progress lines from Airflow's output."""

from __future__ import annotations

import sys
from pathlib import Path

from saas_analytics.progress import condense, run_with_progress


def test_condense_keeps_tasks_our_stage_lines_and_problems():
    assert condense("2026-11-21T22:39:57Z [info ] [DAG TEST] starting task_id=core map_index=-1 [x]") == "  ▸ core"
    assert condense("2026-11-21T22:39:57Z [info     ] staging.events: 10 rows in 0.01s "
                    "[saas_analytics.transform] loc=transform.py:75") == "      staging.events: 10 rows in 0.01s"
    assert condense("DagRun Finished: dag_id=x, state=success, run_type=manual") == "  run finished: success"
    assert condense("2026-11-21T22:39:57Z [info ] Filling up the DagBag from /dags") is None
    assert condense("psycopg.errors.UndefinedTable: Error: relation does not exist").startswith("  ! ")


def test_run_with_progress_keeps_the_whole_log_and_returns_the_exit_code(tmp_path: Path):
    shown: list[str] = []
    script = "print('[DAG TEST] starting task_id=load'); print('noise'); raise SystemExit(3)"
    code = run_with_progress([sys.executable, "-c", script], {}, tmp_path / "logs" / "run.log", shown.append)
    assert code == 3
    assert shown == ["  ▸ load"]
    assert (tmp_path / "logs" / "run.log").read_text() == "[DAG TEST] starting task_id=load\nnoise\n"
