"""Defect 2: a first deployment with an empty landing folder failed every run (a table check on an empty table)."""

from __future__ import annotations

import psycopg
import pytest
from ops_helpers import rows

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]


def test_reproduce_the_table_check_on_an_empty_table_returns_null(warehouse_db: str) -> None:
    """What SQLTableCheckOperator generated for core.fact_daily_user_activity: MIN(...) over no rows is NULL."""
    query = ("select min(c) from (select case when track_events > 0 then 1 else 0 end as c"
             " from core.fact_daily_user_activity) as sq")
    assert rows(warehouse_db, query) == [(None,)]
    fixed = ("select min(c) from (select case when user_id is null or track_events > 0 then 1 else 0 end as c"
             " from core.fact_daily_user_activity right join (select 1) as nonempty on true) as sq")
    assert rows(warehouse_db, fixed) == [(1,)]


def test_a_first_run_on_an_empty_landing_folder_succeeds(first_deployment) -> None:
    """A first install: Airflow's metadata database is still empty, the warehouse too."""
    deployment = first_deployment
    result = deployment.cli("run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "run: preparing Airflow's metadata database" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "run: success"
    with psycopg.connect(deployment.warehouse) as conn:
        assert conn.execute("select status, files_loaded, lines_read, reason from analytics.pipeline_runs"
                            ).fetchall() == [("success", 0, 0, None)]
        assert conn.execute("select count(*) from analytics.daily_active_users").fetchone()[0] == 0
    assert set(deployment.try_numbers().values()) == {1}
