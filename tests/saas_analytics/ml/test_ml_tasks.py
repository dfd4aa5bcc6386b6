"""The ML tasks against a real warehouse: outputs, one slice per as_of, re-runs, privacy, grants, summary."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pipeline_helpers import run_pipeline
from saas_analytics.ml import tasks
from saas_analytics.ml.summary import format_ml_summary
from saas_analytics.simulator import SimulationConfig, simulate

SLICED = ("churn_risk_score_history", "churn_risk_drivers", "user_segment_history", "segment_profiles",
          "metric_anomalies", "insights")
# columns that change on every training run by design (wall-clock audit fields)
VOLATILE = {"ml_model_runs": ("trained_at", "run_id")}
STAGES_BEFORE_ML = ("load", "staging", "core", "data_tests_core", "refresh_analytics", "data_tests_analytics")


def rows(conninfo: str, query: str, params=None) -> list[tuple]:
    """All rows of a query."""
    with psycopg.connect(conninfo) as conn:
        return conn.execute(query, params).fetchall()


def snapshot(conninfo: str) -> dict[str, list[tuple]]:
    """Every ML output table, sorted, without the volatile audit columns."""
    out = {}
    with psycopg.connect(conninfo) as conn:
        for table in (*SLICED, "ml_model_runs"):
            columns = [r[0] for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'analytics'"
                " and table_name = %s order by ordinal_position", [table]).fetchall()
                if r[0] not in VOLATILE.get(table, ())]
            query = sql.SQL("select {} from analytics.{} order by 1, 2, 3").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table))
            out[table] = conn.execute(query).fetchall()
    return out


def test_first_run_fills_every_output(ml_warehouse):
    conninfo = ml_warehouse.conninfo
    as_of = date.fromisoformat(ml_warehouse.first_run["score_churn_risk"]["as_of"])
    assert as_of == rows(conninfo, "select max(activity_date) from core.fact_daily_user_activity")[0][0]
    scored = rows(conninfo, "select count(*), count(distinct user_id), min(churn_probability),"
                  " max(churn_probability), count(distinct as_of) from analytics.churn_risk_scores")[0]
    population = rows(conninfo, "select count(distinct user_id) from core.fact_daily_user_activity"
                      " where activity_date > %s::date - 30", [as_of])[0][0]
    assert scored[0] == scored[1] == population  # every user active in the 30 days through as_of
    assert 0 <= scored[2] < scored[3] <= 1 and scored[4] == 1
    bands = dict(rows(conninfo, "select risk_band, count(*) from analytics.churn_risk_scores group by 1"))
    assert set(bands) == {"low", "medium", "high"}
    drivers = rows(conninfo, "select count(distinct user_id), max(driver_rank), min(contribution)"
                   " from analytics.churn_risk_drivers where as_of = %s", [as_of])[0]
    assert drivers[0] > 0.9 * population and drivers[1] == 3 and drivers[2] > 0
    assert rows(conninfo, "select count(*) from analytics.churn_risk_scores where top_drivers = ''")[0][0] < \
        0.1 * population
    segments = rows(conninfo, "select count(*), count(distinct segment_name) from analytics.segment_profiles"
                    " where as_of = %s", [as_of])[0]
    assert segments[0] >= 3 and segments[0] == segments[1]
    assert rows(conninfo, "select count(*) from analytics.user_segments where segment_name is null")[0][0] == 0
    insights = rows(conninfo, "select insight_key, headline from analytics.insights where as_of = %s"
                    " order by position", [as_of])
    keys = [k for k, _ in insights]
    assert {"dau_week_over_week", "month1_retention", "high_risk_users", "largest_segments", "churn_model"} <= \
        set(keys)
    assert any(k.startswith("anomaly_") for k in keys)
    assert all(h.endswith(".") and any(ch.isdigit() for ch in h) for _, h in insights)
    stages = dict(rows(conninfo, "select stage, status from analytics.pipeline_run_stages where run_id = 'ml-run-1'"))
    assert stages == {s: "success" for s in ("train_churn_model", "score_churn_risk", "segment_users",
                                             "detect_kpi_anomalies", "write_insights")}


def test_running_twice_leaves_one_identical_slice_per_as_of(ml_warehouse):
    conninfo = ml_warehouse.conninfo
    before = snapshot(conninfo)
    for step in ("train_churn_model", "score_churn_risk", "segment_users", "detect_kpi_anomalies",
                 "write_insights"):
        getattr(tasks, step)(conninfo, "ml-run-2")
    after = snapshot(conninfo)
    assert after == before
    for table in SLICED:
        assert len(rows(conninfo, sql.SQL("select distinct as_of from analytics.{}").format(
            sql.Identifier(table)))) == 1, table
    assert rows(conninfo, "select count(*) from analytics.ml_model_runs")[0][0] == 1
    assert rows(conninfo, "select count(*) from ml.model_artifacts")[0][0] == 2


def test_contract_views_are_keyed_by_user(ml_warehouse):
    for view in ("churn_risk_scores", "user_segments"):
        total, distinct = rows(ml_warehouse.conninfo, sql.SQL(
            "select count(*), count(distinct user_id) from analytics.{}").format(sql.Identifier(view)))[0]
        assert total == distinct > 0, view
    columns = {r[0] for r in rows(ml_warehouse.conninfo, "select column_name from information_schema.columns"
                                  " where table_schema = 'analytics' and table_name = 'churn_risk_scores'")}
    assert {"user_id", "churn_probability", "risk_band", "model_version", "scored_at"} <= columns


def test_no_personal_data_reaches_the_ml_outputs(ml_warehouse):
    conninfo = ml_warehouse.conninfo
    personal = rows(conninfo, "select count(*) from core.dim_users where company is not null")[0][0]
    assert personal > 0  # the source does have companies (and the raw events emails and names)
    for table in (*SLICED, "ml_model_runs"):
        columns = {r[0] for r in rows(conninfo, "select column_name from information_schema.columns"
                                      " where table_schema = 'analytics' and table_name = %s", [table])}
        assert not columns & {"email", "name", "company", "email_domain", "traits"}, table
        text = rows(conninfo, sql.SQL("select count(*) from analytics.{} as t where t::text ~ '@'").format(
            sql.Identifier(table)))[0][0]
        assert text == 0, table


def test_the_reader_role_reads_the_outputs_but_not_the_artifacts(ml_warehouse):
    grants = rows(ml_warehouse.conninfo,
                  "select c.relname, has_table_privilege('analytics_reader', c.oid, 'select'),"
                  " has_table_privilege('analytics_reader', c.oid, 'insert')"
                  " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                  " where n.nspname = 'analytics' and c.relname = any(%s)",
                  [[*SLICED, "ml_model_runs", "churn_risk_scores", "user_segments"]])
    assert len(grants) == len(SLICED) + 3
    assert all(select and not insert for _, select, insert in grants), grants
    assert rows(ml_warehouse.conninfo, "select has_schema_privilege('analytics_reader', 'ml', 'usage')")[0][0] is False


def test_summary_for_the_demo(ml_warehouse):
    text = format_ml_summary(ml_warehouse.conninfo)
    high, mrr = rows(ml_warehouse.conninfo, "select count(*), coalesce(sum(mrr), 0) from analytics.churn_risk_scores"
                     " where risk_band = 'high'")[0]
    assert f"{high:,} of" in text and f"${float(mrr):,.2f} MRR" in text
    largest = rows(ml_warehouse.conninfo, "select segment_name from analytics.segment_profiles"
                   " order by users desc limit 1")[0][0]
    assert f"Segments: {largest}" in text
    assert "holdout ROC AUC" in text and "shuffled-label baseline" in text


def test_tasks_skip_cleanly_when_history_is_short(warehouse_db: str, tmp_path: Path):
    landing = tmp_path / "landing"
    simulate(SimulationConfig(days=20, users=120, seed=4), landing)
    run_pipeline(warehouse_db, landing, run_id="short")
    trained = tasks.train_churn_model(warehouse_db, "short")
    assert "skipped" in trained and "labelled" in trained["skipped"]
    assert tasks.score_churn_risk(warehouse_db, "short") == {"skipped": "no promoted churn model"}
    segmented = tasks.segment_users(warehouse_db, "short")
    assert segmented["k"] >= 2
    assert tasks.detect_kpi_anomalies(warehouse_db, "short")["anomalies"] == []  # still warming up
    insights = tasks.write_insights(warehouse_db, "short")
    assert insights["insights"]
    assert "no scores yet" in format_ml_summary(warehouse_db)
    stages = dict(rows(warehouse_db, "select stage, status from analytics.pipeline_run_stages"
                       " where stage <> all(%s)", [list(STAGES_BEFORE_ML)]))
    assert set(stages.values()) == {"success"} and len(stages) == 5


def test_tasks_on_an_empty_warehouse(warehouse_db: str):
    for step in ("train_churn_model", "score_churn_risk", "segment_users", "detect_kpi_anomalies",
                 "write_insights"):
        assert "skipped" in getattr(tasks, step)(warehouse_db, "empty")
    assert "no scores yet" in format_ml_summary(warehouse_db)


def test_the_migration_refuses_odd_reader_role_names():
    import importlib.util

    from saas_analytics import warehouse

    path = Path(warehouse.__file__).parent / "migrations" / "versions" / "0003_ml_outputs.py"
    spec = importlib.util.spec_from_file_location("migration_0003", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module._literal("analytics_reader") == "'analytics_reader'"
    with pytest.raises(ValueError):
        module._literal("x'; drop table y; --")
