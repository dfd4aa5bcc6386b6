"""The Revenue dashboard: its MRR bridge adds up to mrr_monthly, the report draws it as a waterfall, Metabase gets
a waterfall, and the report's and the summary's MRR are mrr_monthly's (one definition)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from saas_analytics.dashboards import metabase as mb
from saas_analytics.dashboards.definitions import Card, load_dashboards, render_sql
from saas_analytics.dashboards.report import REPORT_NAME, build_report, make_figure, run_card

CARD_FIGURE = re.compile(r'data-card="([^"]+)".*?<script type="application/json" id="figure-\d+">(.*?)</script>',
                         re.DOTALL)


def revenue_card(key: str) -> Card:
    dashboard = next(d for d in load_dashboards() if d.key == "revenue")
    return next(c for c in dashboard.cards if c.key == key)


def latest_months(conninfo: str) -> list[dict]:
    """The last two rows of analytics.mrr_monthly, latest first."""
    with psycopg.connect(conninfo) as conn:
        cur = conn.execute("select * from analytics.mrr_monthly order by month desc limit 2")
        return [dict(zip([c.name for c in cur.description], row, strict=True)) for row in cur.fetchall()]


def test_the_issue_cards_are_on_the_revenue_dashboard() -> None:
    dashboard = next(d for d in load_dashboards() if d.key == "revenue")
    shown = {c.key: (c.display, set(c.required_columns)) for c in dashboard.cards}
    assert shown["mrr_bridge"] == ("waterfall", {"step", "amount"})
    assert {"nrr", "grr"} <= shown["nrr_grr_trend"][1]
    assert shown["churn_rate_trend"][1] >= {"customer_churn_rate"}
    assert shown["quick_ratio_trend"][1] >= {"quick_ratio"}
    assert shown["arpa_ltv_trend"][1] >= {"arpa", "ltv"}
    assert shown["revenue_retention_heatmap"] == ("heatmap", {"cohort", "months_since_first_paid",
                                                              "revenue_retention"})
    assert shown["logo_retention_heatmap"] == ("heatmap", {"cohort", "months_since_first_paid", "logo_retention"})


def test_the_bridge_adds_up_to_the_months_mrr(demo_warehouse: str) -> None:
    card = revenue_card("mrr_bridge")
    query, params = render_sql(card.sql)
    with psycopg.connect(demo_warehouse) as conn:
        steps = conn.execute(query.encode(), params).fetchall()
    latest, before = latest_months(demo_warehouse)
    assert [s[0] for s in steps] == [f"Start ({before['month']:%Y-%m})", "New", "Reactivation", "Expansion",
                                     "Contraction", "Churned (voluntary)", "Churned (involuntary)"]
    assert steps[0][1] == before["mrr"]
    assert sum(s[1] for s in steps) == latest["mrr"]
    assert -steps[5][1] - steps[6][1] == latest["churned_mrr"]
    assert -steps[6][1] == latest["churned_mrr_involuntary"]


def test_the_report_draws_the_bridge_as_a_waterfall_ending_at_mrr(demo_warehouse: str, tmp_path: Path) -> None:
    report = build_report(demo_warehouse, tmp_path / REPORT_NAME)
    figures = {ref: json.loads(text.replace("<\\/", "</")) for ref, text in CARD_FIGURE.findall(
        report.path.read_text())}
    trace = figures["revenue/mrr_bridge"]["data"][0]
    assert trace["type"] == "waterfall"
    assert trace["measure"] == ["absolute"] + ["relative"] * 6 + ["total"]
    assert trace["x"][-1] == "End"
    latest, _ = latest_months(demo_warehouse)
    assert Decimal(str(round(sum(v for v in trace["y"] if v is not None), 2))) == latest["mrr"]
    assert figures["revenue/revenue_retention_heatmap"]["data"][0]["type"] == "heatmap"
    assert figures["revenue/kpi_nrr"]["data"][0]["value"] == pytest.approx(float(latest["nrr"]))


def test_every_revenue_card_runs_on_an_empty_warehouse(warehouse_db: str, landing_dir: Path) -> None:
    from pipeline_helpers import run_pipeline

    run_pipeline(warehouse_db, landing_dir, run_id="empty")
    dashboard = next(d for d in load_dashboards() if d.key == "revenue")
    with psycopg.connect(warehouse_db) as conn:
        results = {c.key: run_card(conn, c, {}).frame for c in dashboard.cards}
    assert all(frame.empty for frame in results.values())
    figure = make_figure(revenue_card("mrr_bridge"), results["mrr_bridge"])
    assert figure.layout.annotations[0].text == "No data for this period"


def test_metabase_gets_a_waterfall_with_a_total() -> None:
    card = revenue_card("mrr_bridge")
    assert mb.metabase_display(card) == "waterfall"
    settings = mb.visualization_settings(card)
    assert settings["graph.dimensions"] == ["step"] and settings["graph.metrics"] == ["amount"]
    assert settings["waterfall.show_total"] is True


def test_summary_and_report_mrr_are_mrr_monthlys(demo_warehouse: str) -> None:
    from saas_analytics.summary import read_kpis

    latest, _ = latest_months(demo_warehouse)
    assert read_kpis(demo_warehouse).mrr["mrr"] == latest["mrr"]
    exec_kpi = next(c for d in load_dashboards() for c in d.cards if c.ref == "executive_overview/kpi_mrr")
    with psycopg.connect(demo_warehouse) as conn:
        frame = run_card(conn, exec_kpi, {}).frame
    assert frame["mrr"].iloc[0] == float(latest["mrr"])
