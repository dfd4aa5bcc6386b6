"""The churn model's cadence: train when due (no model, changed settings, CHURN_RETRAIN_DAYS old), else only score."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from saas_analytics.ml import churn, tasks

CONFIG = churn.ChurnConfig(shuffles=2)


def rows(conninfo: str, query: str, params=None) -> list[tuple]:
    """All rows of a query."""
    with psycopg.connect(conninfo) as conn:
        return conn.execute(query, params).fetchall()


def test_retrain_due_rules():
    as_of = date(2026, 9, 28)
    latest = {"model_version": "churn-x", "as_of": as_of, "params": churn.training_params(CONFIG)}
    assert churn.retrain_due(as_of, None, CONFIG, 7) == (True, "no model trained yet")
    for age in range(7):
        due, why = churn.retrain_due(as_of + timedelta(days=age), latest, CONFIG, 7)
        assert not due and f"{age} day(s) old" in why
    assert churn.retrain_due(as_of + timedelta(days=7), latest, CONFIG, 7)[0]
    assert churn.retrain_due(as_of + timedelta(days=2), latest, CONFIG, 2)[0]
    assert churn.retrain_due(as_of, latest, CONFIG, 7, force=True) == (True, "retraining forced")
    changed = churn.retrain_due(as_of, latest, replace(CONFIG, regularisation_c=0.5), 7)
    assert changed == (True, "the model settings changed since churn-x")


def test_the_training_window_is_bounded():
    config = churn.ChurnConfig()
    # 12 training dates + the 30-day purge (5 weekly dates) + 2 holdout dates + 1 spare, after the
    # 30-day censored horizon: far less than a year of observation dates, whatever the history
    assert config.history_days == 30 + 7 * (12 + 5 + 2 + 1)
    assert replace(config, max_history_days=365).history_days == 365
    assert config.history_since(date(2026, 9, 28)) == date(2026, 9, 28) - timedelta(days=170 + 90)


@pytest.fixture
def scratch(ml_warehouse, pg_server, migrated_template) -> Iterator[str]:
    """A scratch warehouse holding a copy of the ML test warehouse's core facts (no model yet)."""
    name = f"saas_ml_cadence_{os.getpid()}"
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                      sql.Identifier(migrated_template)))
    conninfo = make_conninfo(pg_server["admin"], dbname=name)
    with psycopg.connect(ml_warehouse.conninfo) as src, psycopg.connect(conninfo) as dst:
        for table in ("fact_events", "fact_subscription_events", "fact_daily_user_activity", "dim_users"):
            with src.cursor().copy(f"copy core.{table} to stdout") as out, \
                    dst.cursor().copy(f"copy core.{table} from stdin") as into:
                for chunk in out:
                    into.write(chunk)
    yield conninfo
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def test_a_second_run_the_same_day_scores_without_retraining_and_a_week_later_retrains(scratch: str):
    first = tasks.train_churn_model(scratch, "day-1", CONFIG, retrain_days=7)
    assert first["trained"] and first["promoted"], first
    trained_at = rows(scratch, "select trained_at from analytics.ml_model_runs")
    second = tasks.train_churn_model(scratch, "day-1-again", CONFIG, retrain_days=7)
    assert second["trained"] is False and "0 day(s) old" in second["skipped"], second
    assert rows(scratch, "select trained_at from analytics.ml_model_runs") == trained_at  # nothing refitted
    assert rows(scratch, "select detail ->> 'trained' from analytics.pipeline_run_stages"
                " where stage = 'train_churn_model' order by recorded_at") == [("true",), ("false",)]
    scored = tasks.score_churn_risk(scratch, "day-1-again", CONFIG)
    assert scored["model_version"] == first["model_version"] and scored["users"] > 0
    # the same model, seen from 7 data days later: due again (re-dated by hand; the data stay the same)
    with psycopg.connect(scratch, autocommit=True) as conn:
        conn.execute("update analytics.ml_model_runs set as_of = as_of - 7")
    third = tasks.train_churn_model(scratch, "day-8", CONFIG, retrain_days=7)
    assert third["trained"] and "7 day(s) old" in third["why"], third
    assert rows(scratch, "select trained_at from analytics.ml_model_runs") != trained_at
    # settings change: retrain at once, whatever the age
    changed = tasks.train_churn_model(scratch, "day-8-c", replace(CONFIG, regularisation_c=0.5), retrain_days=7)
    assert changed["trained"] and "settings changed" in changed["why"], changed


def test_scoring_is_skipped_when_nothing_changed(scratch: str):
    tasks.train_churn_model(scratch, "s1", CONFIG)
    first = tasks.score_churn_risk(scratch, "s1", CONFIG, skip_unchanged=True)
    assert first["users"] > 0
    before = rows(scratch, "select * from analytics.churn_risk_score_history order by user_id")
    again = tasks.score_churn_risk(scratch, "s2", CONFIG, skip_unchanged=True)
    assert again["skipped"] == "nothing changed since run s1"
    assert rows(scratch, "select * from analytics.churn_risk_score_history order by user_id") == before
    # a new champion is a change: scored again, with it
    other = tasks.train_churn_model(scratch, "s3", replace(CONFIG, regularisation_c=0.5), retrain_days=7)
    with psycopg.connect(scratch, autocommit=True) as conn:
        conn.execute("update analytics.ml_model_runs set promoted = (model_version = %s)", [other["model_version"]])
    third = tasks.score_churn_risk(scratch, "s3", CONFIG, skip_unchanged=True)
    assert "skipped" not in third and third["model_version"] == other["model_version"]
