"""KPI anomalies: a seasonal, robust baseline that finds planted incidents without crying wolf."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import psycopg
import pytest

from saas_analytics.ml import anomalies as A
from saas_analytics.ml import data

WEEKDAY = np.array([1.1, 1.15, 1.15, 1.1, 1.0, 0.55, 0.5])


def seasonal_counts(days: int = 91, level: float = 200.0, growth: float = 0.005, seed: int = 0) -> pd.Series:
    """Poisson counts with weekly seasonality and growth, one per day from 2026-01-05 (a Monday)."""
    rng = np.random.default_rng(seed)
    index = pd.Index([date(2026, 1, 5) + timedelta(days=i) for i in range(days)], name="day")
    mean = level * np.exp(growth * np.arange(days)) * WEEKDAY[np.arange(days) % 7]
    return pd.Series(rng.poisson(mean).astype(float), index=index)


def frame(**series: pd.Series) -> pd.DataFrame:
    """A metrics frame; missing metrics are zero."""
    base = next(iter(series.values()))
    out = pd.DataFrame({m: series.get(m, pd.Series(0.0, index=base.index)) for m in A.METRICS})
    return out


@pytest.mark.parametrize("seed", range(5))
def test_quiet_seasonal_growth_raises_no_alarm(seed):
    dau = seasonal_counts(seed=seed)
    signups = seasonal_counts(level=20, seed=seed + 100)
    assert A.detect_anomalies(frame(dau=dau, signups=signups)).empty


def test_a_drop_and_a_spike_are_found_and_the_drop_does_not_poison_next_week():
    dau = seasonal_counts(seed=3)
    dau.iloc[45] *= 0.2  # an outage on a Saturday-or-weekday, whatever day 45 is
    dau.iloc[60] *= 1.8
    found = A.detect_anomalies(frame(dau=dau))
    assert [(r.date, r.direction) for r in found.itertuples()] == [
        (dau.index[45], "down"), (dau.index[60], "up")]
    b = A.baseline(dau)
    assert b["expected"].iloc[52] == pytest.approx(b["expected"].iloc[38] * np.exp(0.005 * 14), rel=0.15)


def test_nothing_is_judged_during_the_warm_up():
    dau = seasonal_counts()
    dau.iloc[10] = 0.0
    b = A.baseline(dau)
    assert b["score"].iloc[: A.AnomalyConfig().min_history_days].isna().all()
    assert A.detect_anomalies(frame(dau=dau)).empty


def test_small_counts_need_more_than_counting_noise():
    signups = seasonal_counts(level=2, growth=0.0, seed=4)
    signups.iloc[50] = 7.0  # 7 signups on a day expecting about 2: unusual, not an incident
    assert A.detect_anomalies(frame(signups=signups)).empty
    signups.iloc[50] = 25.0
    found = A.detect_anomalies(frame(signups=signups))
    assert list(found["direction"]) == ["up"]


def test_one_big_subscription_is_not_an_mrr_anomaly_but_a_wave_is():
    rng = np.random.default_rng(1)
    index = seasonal_counts().index
    n = rng.poisson(3, len(index))
    sizes = [rng.choice([29.0, 79.0, 199.0, -29.0, -79.0], k) for k in n]
    net = pd.Series([s.sum() for s in sizes], index=index)
    squares = pd.Series([float((s ** 2).sum()) for s in sizes], index=index)
    quiet = A.detect_anomalies(frame(net_new_mrr=net).assign(net_new_mrr_movement_sq=squares))
    assert quiet.empty
    net.iloc[70] += 40 * 199.0  # forty business plans in a day
    squares.iloc[70] += 40 * 199.0 ** 2
    found = A.detect_anomalies(frame(net_new_mrr=net).assign(net_new_mrr_movement_sq=squares))
    assert [(r.metric, r.date, r.direction) for r in found.itertuples()] == [("net_new_mrr", index[70], "up")]


def test_planted_incidents_are_found_with_few_false_alarms(ml_warehouse):
    with psycopg.connect(ml_warehouse.conninfo) as conn:
        as_of = data.latest_activity_date(conn)
        metrics = A.read_daily_metrics(conn, as_of)
    assert len(metrics) == ml_warehouse.days and metrics.index[0] == ml_warehouse.start
    found = A.detect_anomalies(metrics)
    match = A.match_incidents(found, [(i.kind, i.day) for i in ml_warehouse.incidents])
    assert match.recall >= 0.8, match
    assert len(match.false_alarm_days) <= 2 * ml_warehouse.days / 90, match
    # what the task stored is exactly this
    with psycopg.connect(ml_warehouse.conninfo) as conn:
        stored = conn.execute("select metric, date, direction from analytics.metric_anomalies where as_of = %s"
                              " order by date, metric", [as_of]).fetchall()
    assert stored == [(r.metric, r.date, r.direction) for r in found.itertuples()]


def test_incident_matching():
    found = pd.DataFrame({"metric": ["dau", "signups", "dau"], "date": [date(2026, 1, 10), date(2026, 1, 20),
                                                                       date(2026, 1, 25)],
                          "direction": ["down", "up", "up"]})
    match = A.match_incidents(found, [("outage", date(2026, 1, 10)), ("signup_spike", date(2026, 1, 21)),
                                      ("signup_spike", date(2026, 1, 25))])
    assert match.found == [("outage", date(2026, 1, 10))]
    assert match.recall == pytest.approx(1 / 3)
    assert match.false_alarm_days == [date(2026, 1, 20)]  # Jan 25 is an incident day, wrong signature
