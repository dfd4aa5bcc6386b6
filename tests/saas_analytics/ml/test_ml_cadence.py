"""The churn model's cadence: train when due (no model, changed settings, CHURN_RETRAIN_DAYS old), else only score."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta

import pandas as pd
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from saas_analytics.ml import churn, store, tasks
from saas_analytics.ml.data import CoreFrames, read_core

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


# ---------------------------------------------------------------------------------------------
# the champion's holdout check between training days (CHURN_RETRAIN_AUC_DROP)


def test_the_check_date_is_the_newest_matured_monday_no_model_saw():
    config = churn.ChurnConfig()
    # as of Wednesday 2026-09-30: a date t is labelled when t + 30 <= 2026-10-01, so the newest
    # Monday is 2026-08-31 (2026-09-07 + 30 = 2026-10-07 is still open)
    assert churn.newest_labelled_date(date(2026, 9, 30), config) == date(2026, 8, 31)
    assert churn.newest_labelled_date(date(2026, 10, 6), config) == date(2026, 9, 7)  # 09-07 + 30 = 10-07
    assert churn.check_date(date(2026, 9, 30), date(2026, 8, 24), config) == (date(2026, 8, 31), None)
    never, why = churn.check_date(date(2026, 9, 30), date(2026, 8, 31), config)
    assert never is None
    assert "no observation date has matured since 2026-08-31" in why and "2026-09-07" in why and "2026-10-06" in why


def set_aside_after(conninfo: str, day: date) -> None:
    """Move the core facts that happened or arrived after `day` aside (as if the data ended that day)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("create table public.later_subscriptions as select * from core.fact_subscription_events"
                     " where message_id in (select message_id from core.fact_events"
                     " where event_at >= %(cut)s or received_at >= %(cut)s)", {"cut": day + timedelta(days=1)})
        conn.execute("delete from core.fact_subscription_events"
                     " where message_id in (select message_id from public.later_subscriptions)")
        conn.execute("create table public.later_events as select * from core.fact_events"
                     " where event_at >= %(cut)s or received_at >= %(cut)s", {"cut": day + timedelta(days=1)})
        conn.execute("delete from core.fact_events where event_at >= %(cut)s or received_at >= %(cut)s",
                     {"cut": day + timedelta(days=1)})
        conn.execute("create table public.later_activity as select * from core.fact_daily_user_activity"
                     " where activity_date > %s", [day])
        conn.execute("delete from core.fact_daily_user_activity where activity_date > %s", [day])


def put_back(conninfo: str) -> None:
    """Undo `set_aside_after`."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("insert into core.fact_events select * from public.later_events")
        conn.execute("insert into core.fact_daily_user_activity select * from public.later_activity")
        conn.execute("insert into core.fact_subscription_events select * from public.later_subscriptions")
        conn.execute("drop table public.later_events, public.later_activity, public.later_subscriptions")


def independent_labels(conninfo: str, t: date) -> pd.DataFrame:
    """Population and label at t computed here with pandas: active in [t-30, t) and known before t; churned =
    no activity event in [t, t+30)."""
    events = pd.DataFrame(rows(conninfo, "select user_id, event_at, received_at from core.fact_events"
                                         " where event_type in ('track', 'page', 'screen') and user_id is not null"),
                          columns=["user_id", "event_at", "received_at"])
    start, end = pd.Timestamp(t, tz="UTC"), pd.Timestamp(t + timedelta(days=30), tz="UTC")
    known = events.loc[(events["event_at"] < start) & (events["received_at"].isna() | (events["received_at"] < start))]
    active = set(known.loc[known["event_at"] >= start - pd.Timedelta(days=30), "user_id"])
    returned = set(events.loc[(events["event_at"] >= start) & (events["event_at"] < end), "user_id"])
    return pd.DataFrame({"user_id": sorted(active), "churned": [int(u not in returned) for u in sorted(active)]})


@pytest.fixture
def champion_two_weeks_old(scratch: str) -> tuple[str, dict, date]:
    """The scratch warehouse with a champion trained on the data as of 14 days before the end (data put back)."""
    as_of = rows(scratch, "select max(activity_date) from core.fact_daily_user_activity")[0][0]
    set_aside_after(scratch, as_of - timedelta(days=14))
    first = tasks.train_churn_model(scratch, "two-weeks-ago", CONFIG)
    put_back(scratch)
    assert first["trained"] and first["promoted"], first
    return scratch, first, as_of


def test_an_unchanged_champion_is_checked_and_kept(champion_two_weeks_old):
    scratch, first, as_of = champion_two_weeks_old
    out = tasks.train_churn_model(scratch, "check", CONFIG, retrain_days=30, auc_drop=0.05)
    assert out["trained"] is False and "14 day(s) old" in out["skipped"], out
    check = out["holdout_check"]
    t = churn.newest_labelled_date(as_of, CONFIG)
    assert check["verdict"] == "ok" and check["obs_date"] == t.isoformat(), check
    assert check["model_version"] == first["model_version"] and "checked_in" not in check
    assert t > date.fromisoformat(first["test_to"])  # a date the champion never saw
    expected = independent_labels(scratch, t)
    assert (check["rows"], check["churned"]) == (len(expected), int(expected["churned"].sum()))
    assert check["recorded_roc_auc"] == round(first["roc_auc"], 4)
    assert check["roc_auc"] >= check["recorded_roc_auc"] - 0.05 and "within 0.05" in check["reason"]
    assert len(rows(scratch, "select 1 from analytics.ml_model_runs")) == 1  # nothing trained
    stage = rows(scratch, "select detail -> 'holdout_check' ->> 'verdict' from analytics.pipeline_run_stages"
                 " where run_id = 'check' and stage = 'train_churn_model'")
    assert stage == [("ok",)]
    # the next run repeats that verdict for the same champion and date instead of evaluating again
    again = tasks.train_churn_model(scratch, "check-2", CONFIG, retrain_days=30, auc_drop=0.05)
    assert again["holdout_check"] == {**check, "checked_in": "check"}, again
    # another tolerance is another check: evaluated again (a tolerance above the fall keeps it ok)
    other = tasks.train_churn_model(scratch, "check-3", CONFIG, retrain_days=30, auc_drop=0.2)
    assert "checked_in" not in other["holdout_check"] and other["holdout_check"]["verdict"] == "ok", other


def test_a_champion_whose_churn_behaviour_changed_is_retrained_with_the_reason(champion_two_weeks_old):
    scratch, first, as_of = champion_two_weeks_old
    t = churn.newest_labelled_date(as_of, CONFIG)
    population = independent_labels(scratch, t)
    # churn stops following behaviour: a random half of the population leaves at t, whatever its activity
    leavers = population["user_id"].sample(frac=0.5, random_state=3).tolist()
    with psycopg.connect(scratch, autocommit=True) as conn:
        for table in ("fact_subscription_events", "fact_events"):
            conn.execute(sql.SQL("delete from core.{} where user_id = any(%s) and event_at >= %s and event_at < %s")
                         .format(sql.Identifier(table)), [leavers, t, t + timedelta(days=30)])
    out = tasks.train_churn_model(scratch, "check", CONFIG, retrain_days=30, auc_drop=0.05)
    assert out["trained"] is True, out
    assert out["why"].startswith("holdout check: ") and "below the" in out["why"], out
    check = out["holdout_check"]
    assert check["verdict"] == "degraded" and check["obs_date"] == t.isoformat()
    assert check["recorded_roc_auc"] - check["roc_auc"] > 0.05, check
    assert out["test_to"] == t.isoformat()  # the new model was evaluated on that date
    # the day after: the new model saw that date; no further retraining on the same evidence
    again = tasks.train_churn_model(scratch, "check-again", CONFIG, retrain_days=30, auc_drop=0.05)
    assert again["trained"] is False and again["holdout_check"]["verdict"] == "not evaluated", again
    assert "no observation date has matured since" in again["holdout_check"]["reason"]


def test_too_little_matured_data_is_not_evaluated(scratch: str):
    first = tasks.train_churn_model(scratch, "now", CONFIG)
    # no date newer than the model's holdout: not evaluated, a clear reason, no crash
    out = tasks.train_churn_model(scratch, "now-again", CONFIG, retrain_days=30)
    assert out["trained"] is False and out["holdout_check"]["verdict"] == "not evaluated", out
    # a date with too few users in the population: not evaluated either
    with psycopg.connect(scratch) as conn:
        frames = read_core(conn)
        model = store.load_artifact(conn, first["model_version"], "production")
    few = frames.events["user_id"].drop_duplicates().head(40)
    small = CoreFrames(events=frames.events.loc[frames.events["user_id"].isin(few)],
                       subscriptions=frames.subscriptions)
    t = churn.newest_labelled_date(date.fromisoformat(str(first["as_of"])), CONFIG)
    check = churn.holdout_check(model, 0.9, small, t, 0.05, CONFIG)
    assert check.verdict == "not evaluated" and not check.degraded
    assert check.reason.startswith(f"too little matured data on {t}:") and check.roc_auc is None
