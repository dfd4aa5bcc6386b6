"""One definition of MRR: the ML code's total MRR and the anomaly series' net new MRR agree with
analytics.mrr_monthly (both read the one revenue model's ordering: equal timestamps in load order)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from pipeline_helpers import run_pipeline
from revenue_fixtures import write_story
from saas_analytics.ml import anomalies, data


def mrr_monthly(conninfo: str) -> pd.DataFrame:
    """analytics.mrr_monthly's month, mrr and net_new_mrr, indexed by month."""
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute("select month, mrr, net_new_mrr from analytics.mrr_monthly order by month").fetchall()
    return pd.DataFrame(rows, columns=["month", "mrr", "net_new_mrr"]).set_index("month")


def monthly_sums(daily: pd.DataFrame) -> pd.Series:
    """The anomaly series' daily net new MRR summed per calendar month (index: first day of the month)."""
    months = [day.replace(day=1) for day in daily.index]
    return daily["net_new_mrr"].groupby(months).sum()


def month_end(month: date) -> date:
    """The last day of a month."""
    return (pd.Timestamp(month) + pd.offsets.MonthEnd(0)).date()


def test_ml_total_mrr_and_anomaly_net_new_mrr_equal_mrr_monthly_on_the_demo(demo_warehouse: str) -> None:
    expected = mrr_monthly(demo_warehouse)
    with psycopg.connect(demo_warehouse) as conn:
        as_of = data.latest_activity_date(conn)
        total = data.month_total_mrr(conn, as_of)
        daily = anomalies.read_daily_metrics(conn, as_of)
    latest = expected.index.max()
    assert latest == as_of.replace(day=1)
    assert expected.loc[latest, "mrr"] > 0, "the demo has paying customers"
    assert total == pytest.approx(float(expected.loc[latest, "mrr"]), abs=0.005)

    sums = monthly_sums(daily)
    complete = [m for m in expected.index if month_end(m) <= as_of]
    assert len(complete) >= 2, f"the demo should span complete months: {list(expected.index)}"
    assert any(expected.loc[m, "net_new_mrr"] != 0 for m in complete)
    got = {m: round(float(sums.get(m, 0.0)), 2) for m in complete}
    want = {m: float(expected.loc[m, "net_new_mrr"]) for m in complete}
    assert got == want


def test_equal_timestamps_break_ties_by_load_order_not_message_id(warehouse_db: str, landing_dir: Path) -> None:
    """The hand story (tests/revenue_fixtures.py): `tie` gets `z-tie` 6,000 then, at the same instant and
    loaded later, `a-tie` 4,000; month ends (by hand): Jan 85.00, Feb 147.00, …, Aug 124.00."""
    write_story(landing_dir)
    run_pipeline(warehouse_db, landing_dir)
    with psycopg.connect(warehouse_db) as conn:
        feb = data.month_total_mrr(conn, date(2024, 2, 15))
        latest = data.month_total_mrr(conn, data.latest_activity_date(conn))
        daily = anomalies.read_daily_metrics(conn, data.latest_activity_date(conn))
    assert (feb, latest) == (147.0, 124.0)
    # +60.00 then −20.00 in load order; a message_id order would give +40.00 then +20.00 = 60.00
    assert daily.loc[date(2024, 2, 1), "net_new_mrr"] == pytest.approx(40.0)
    assert round(float(monthly_sums(daily)[date(2024, 2, 1)]), 2) == 62.0  # 147 − 85
