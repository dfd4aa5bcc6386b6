"""Insights: each statement says what its numbers say."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from saas_analytics.ml import insights

AS_OF = date(2026, 8, 29)


def test_dau_week_over_week():
    days = [AS_OF - timedelta(days=i) for i in range(13, -1, -1)]
    dau = pd.Series([100.0] * 7 + [110.0] * 7, index=days)
    item = insights.dau_week_over_week(dau, AS_OF)
    assert (item.value, item.reference_value) == (110.0, 100.0)
    assert "up 10.0%" in item.headline and "110" in item.headline
    assert insights.dau_week_over_week(dau.iloc[3:], AS_OF) is None  # no full previous week


def cohorts(sizes_and_retained: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Month-1 rows of a retention table."""
    return pd.DataFrame([{"cohort_month": date.fromisoformat(m), "months_since_signup": 1, "cohort_size": s,
                          "retained_users": r} for m, (s, r) in sizes_and_retained.items()])


def test_month1_retention_compares_the_latest_full_cohort_with_earlier_ones():
    table = cohorts({"2026-04-01": (100, 60), "2026-05-01": (300, 150), "2026-06-01": (200, 140),
                     "2026-07-01": (250, 50)})  # July's month 1 (August) is not over on Aug 29
    item = insights.month1_retention(table, AS_OF)
    assert item.detail["cohort_month"] == "2026-06-01"
    assert item.value == pytest.approx(0.7) and item.reference_value == pytest.approx(210 / 400)
    assert "17.5 points above" in item.headline
    only = insights.month1_retention(cohorts({"2026-06-01": (200, 140)}), AS_OF)
    assert only.reference_value is None and "first cohort" in only.headline


def test_high_risk_users_and_their_mrr():
    scores = pd.DataFrame({"risk_band": ["high", "high", "low", "medium"], "mrr": [79.0, 0.0, 199.0, 29.0],
                           "churn_probability": [0.9, 0.8, 0.1, 0.3]})
    item = insights.high_risk_users(scores, total_mrr=395.0)
    assert item.value == 2 and item.detail["mrr"] == 79.0 and item.detail["share_of_mrr"] == pytest.approx(0.2)
    assert "2 of 4 active users" in item.headline and "$79.00 MRR (20.0% of all MRR)" in item.headline


def test_anomaly_statements():
    found = pd.DataFrame({"metric": ["dau", "signups"], "date": [date(2026, 8, 20), date(2026, 7, 1)],
                          "value": [50.0, 90.0], "expected": [200.0, 30.0], "score": [-9.0, 8.0],
                          "direction": ["down", "up"]})
    items = insights.anomaly_insights(found, AS_OF)
    assert [i.key for i in items] == ["anomaly_dau_2026-08-20"]  # July is older than 14 days
    assert "DAU on Thu Aug 20: 50 against an expected 200 (−75.0%), an unusual drop" in items[0].headline
    none = insights.anomaly_insights(found.iloc[:0], AS_OF)
    assert none[0].key == "anomalies_none"


def test_build_insights_skips_what_is_missing():
    items = insights.build_insights(AS_OF, pd.Series(dtype=float), pd.DataFrame(), pd.DataFrame(), 0.0,
                                    pd.DataFrame(columns=["metric", "date", "value", "expected", "score",
                                                          "direction"]), pd.DataFrame(), None)
    assert [i.key for i in items] == ["anomalies_none"]
