"""Churn model: metrics, the purged temporal split, the honest evaluation on simulated data, promotion."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import psycopg
import pytest

from saas_analytics.ml import churn, data, tasks
from saas_analytics.ml.features import FEATURE_COLUMNS


def rows(conninfo: str, query: str, params=None) -> list[tuple]:
    """All rows of a query."""
    with psycopg.connect(conninfo) as conn:
        return conn.execute(query, params).fetchall()


def test_evaluation_metrics_on_a_known_ranking():
    y = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    p = np.array([0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.4, 0.6, 0.9, 0.5])
    m = churn.evaluate(y, p)
    assert m["roc_auc"] == pytest.approx(15 / 16)  # one of 16 pairs is mis-ordered (0.6 > 0.5)
    assert m["base_rate"] == pytest.approx(0.2)
    assert m["top_decile_lift"] == pytest.approx(5.0)  # the top 10 % (one user) churned: 1.0 / 0.2
    assert m["brier"] == pytest.approx(float(np.mean((p - y) ** 2)))
    assert 0 < m["pr_auc"] <= 1


def test_risk_bands_follow_the_thresholds():
    bands = churn.risk_band(np.array([0.0, 0.19, 0.2, 0.49, 0.5, 1.0]))
    assert list(bands) == ["low", "low", "medium", "medium", "high", "high"]


def synthetic_dataset(dates: list[date], per_date: int = 80, seed: int = 0) -> pd.DataFrame:
    """Observations whose churn depends on recency (a learnable signal)."""
    rng = np.random.default_rng(seed)
    parts = []
    for t in dates:
        frame = pd.DataFrame(rng.poisson(3, (per_date, len(FEATURE_COLUMNS))).astype(float),
                             columns=list(FEATURE_COLUMNS))
        frame["recency_days"] = rng.integers(1, 31, per_date).astype(float)
        frame["churned"] = (rng.random(per_date) < frame["recency_days"] / 32).astype(int)
        frame["obs_date"] = t
        frame["user_id"] = [f"u{i}" for i in range(per_date)]
        frame["plan"] = "free"
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def test_temporal_split_purges_training_labels_that_overlap_the_holdout():
    dates = [date(2026, 1, 5) + timedelta(weeks=w) for w in range(12)]
    dataset = synthetic_dataset(dates)
    train, test = churn.temporal_split(dataset, churn.ChurnConfig())
    assert sorted(test["obs_date"].unique()) == dates[-2:]
    # every training label horizon [t, t + 30) ended before the first holdout date
    assert max(train["obs_date"]) + timedelta(days=30) <= min(test["obs_date"])
    assert max(train["obs_date"]) == date(2026, 2, 9)  # Mar 16 − 30 days = Feb 14
    no_purge = churn.temporal_split(dataset, churn.ChurnConfig(purge_days=0))[0]
    assert max(no_purge["obs_date"]) == dates[-3]


def test_too_little_history_is_refused_not_trained_on():
    dates = [date(2026, 1, 5) + timedelta(weeks=w) for w in range(5)]
    with pytest.raises(churn.NotEnoughData, match="purge"):
        churn.temporal_split(synthetic_dataset(dates, per_date=40), churn.ChurnConfig())
    with pytest.raises(churn.NotEnoughData):
        churn.temporal_split(synthetic_dataset(dates[:2]), churn.ChurnConfig())


def test_drivers_name_the_features_that_raise_the_risk():
    dates = [date(2026, 1, 5) + timedelta(weeks=w) for w in range(3)]
    dataset = synthetic_dataset(dates, per_date=300)
    config = churn.ChurnConfig(shuffles=1)
    model = churn.fit_model(dataset, dataset["churned"].to_numpy(), "test", config)
    users = dataset.iloc[:50].set_index("user_id")
    drivers = churn.top_drivers(model, users, k=3)
    assert (drivers["contribution"] > 0).all()
    assert drivers.groupby("user_id")["driver_rank"].max().max() <= 3
    long_gone = users["recency_days"].idxmax()
    assert drivers.loc[(drivers["user_id"] == long_gone) & (drivers["driver_rank"] == 1), "feature"].item() == \
        "recency_days"


def test_model_roundtrips_through_its_artifact():
    dates = [date(2026, 1, 5) + timedelta(weeks=w) for w in range(2)]
    dataset = synthetic_dataset(dates)
    model = churn.fit_model(dataset, dataset["churned"].to_numpy(), "v1", churn.ChurnConfig())
    again = churn.load_model(churn.dump_model(model))
    assert again.version == "v1" and np.allclose(again.predict(dataset), model.predict(dataset))
    with pytest.raises(TypeError):
        churn.load_model(__import__("pickle").dumps({"not": "a model"}))


def test_promotion_decision():
    assert churn.promotion_decision(0.8, None, None)[0]
    assert churn.promotion_decision(0.8, None, "old")[0]
    assert churn.promotion_decision(0.8, 0.8, "old")[0]
    promoted, reason = churn.promotion_decision(0.79, 0.8, "old")
    assert not promoted and "not promoted" in reason


# ---------------------------------------------------------------------------------------------
# on simulated data


def test_holdout_auc_clears_the_bar_and_the_shuffled_baseline_is_chance(ml_warehouse):
    run = ml_warehouse.first_run["train_churn_model"]
    assert run["promoted"] is True
    assert run["roc_auc"] >= 0.75, run
    assert abs(run["shuffled_roc_auc"] - 0.5) <= 0.05, run
    assert run["top_decile_lift"] > 1.5 and run["pr_auc"] > run["base_rate"]
    assert 0 < run["brier"] < run["base_rate"] * (1 - run["base_rate"])  # better than predicting the base rate
    # the split is temporal and purged; censored dates are never labelled
    assert run["train_to"] <= (date.fromisoformat(run["test_from"]) - timedelta(days=30)).isoformat()
    as_of = date.fromisoformat(run["as_of"])
    assert date.fromisoformat(run["test_to"]) + timedelta(days=30) <= as_of + timedelta(days=1)
    recorded = rows(ml_warehouse.conninfo, "select roc_auc, shuffled_roc_auc, feature_list, train_rows, test_rows,"
                    " promoted, metrics ->> 'shuffles' from analytics.ml_model_runs where model_version = %s",
                    [run["model_version"]])
    assert len(recorded) == 1
    auc, shuffled, feature_list, train_rows, test_rows, promoted, shuffles = recorded[0]
    assert auc == pytest.approx(run["roc_auc"], abs=1e-4) and promoted
    assert feature_list == list(FEATURE_COLUMNS) and train_rows >= 500 and test_rows >= 500
    assert int(shuffles) == churn.ChurnConfig().shuffles


def test_every_dataset_row_is_point_in_time_and_labelled(ml_warehouse):
    with psycopg.connect(ml_warehouse.conninfo) as conn:
        as_of = data.latest_activity_date(conn)
        frames = data.read_core(conn)
    dataset = churn.build_dataset(frames, as_of)
    assert (dataset["recency_days"] <= 30).all() and (dataset["recency_days"] >= 1).all()
    assert all(t + timedelta(days=30) <= as_of + timedelta(days=1) for t in dataset["obs_date"].unique())
    assert set(dataset["churned"].unique()) == {0, 1}
    assert not dataset.duplicated(["obs_date", "user_id"]).any()


def test_a_worse_challenger_is_recorded_but_not_promoted(ml_warehouse, pg_server, migrated_template):
    """Champion: the full model. Challenger: a model that sees only the plan. Then the reverse."""
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    name = f"saas_ml_promo_{__import__('os').getpid()}"
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                      sql.Identifier(migrated_template)))
    conninfo = make_conninfo(pg_server["admin"], dbname=name)
    try:
        # copy the ML test warehouse's core facts (read-only source) into the scratch database
        with psycopg.connect(ml_warehouse.conninfo) as src, psycopg.connect(conninfo) as dst:
            for table in ("fact_events", "fact_subscription_events", "fact_daily_user_activity", "dim_users"):
                with src.cursor().copy(f"copy core.{table} to stdout") as out, \
                        dst.cursor().copy(f"copy core.{table} from stdin") as into:
                    for chunk in out:
                        into.write(chunk)
        weak = churn.ChurnConfig(features=("plan_starter", "annual_billing"), shuffles=2)
        strong = churn.ChurnConfig(shuffles=2)
        first = tasks.train_churn_model(conninfo, "promo-1", strong)
        second = tasks.train_churn_model(conninfo, "promo-2", weak)
        assert first["promoted"] and not second["promoted"], second
        assert second["roc_auc"] < first["roc_auc"]
        scored = tasks.score_churn_risk(conninfo, "promo-2")
        assert scored["model_version"] == first["model_version"]  # the champion still scores
        recorded = dict(rows(conninfo, "select model_version, promoted from analytics.ml_model_runs"))
        assert recorded == {first["model_version"]: True, second["model_version"]: False}
        champion_auc = rows(conninfo, "select champion_version, champion_roc_auc from analytics.ml_model_runs"
                            " where model_version = %s", [second["model_version"]])[0]
        assert champion_auc[0] == first["model_version"]
        assert champion_auc[1] == pytest.approx(first["roc_auc"], abs=1e-4)  # same holdout, same number
        # a better challenger replaces a weak champion
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("update analytics.ml_model_runs set promoted = (model_version = %s)",
                         [second["model_version"]])
        third = tasks.train_churn_model(conninfo, "promo-3", replace(strong, regularisation_c=0.5))
        assert third["promoted"], third
        assert tasks.score_churn_risk(conninfo, "promo-3")["model_version"] == third["model_version"]
    finally:
        with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
