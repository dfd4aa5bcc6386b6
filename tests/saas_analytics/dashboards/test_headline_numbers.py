"""The headline numbers are the analytics objects' numbers: what `saas-analytics summary` prints, what the
report draws and what the Metabase KPI cards show equal analytics.daily_active_users and mrr_monthly."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from saas_analytics.dashboards.definitions import load_dashboards, render_sql
from saas_analytics.dashboards.report import run_card
from saas_analytics.summary import format_kpis, read_kpis

CARDS = {c.ref: c for d in load_dashboards() for c in d.cards}
# KPI card → (analytics object, its column), latest row of the object
HEADLINES = {
    "executive_overview/kpi_dau": ("daily_active_users", "dau"),
    "executive_overview/kpi_mau": ("daily_active_users", "mau"),
    "executive_overview/kpi_mrr": ("mrr_monthly", "mrr"),
    "executive_overview/kpi_customers": ("mrr_monthly", "customers"),
}
ORDER = {"daily_active_users": "activity_date", "mrr_monthly": "month"}


def latest(conninfo: str, name: str) -> dict:
    """The latest row of an analytics object, straight from the object."""
    with psycopg.connect(conninfo, row_factory=dict_row) as conn:
        return conn.execute(f"select * from analytics.{name} order by {ORDER[name]} desc limit 1").fetchone()


def test_summary_headlines_are_the_analytics_objects(demo_warehouse: str) -> None:
    kpis = read_kpis(demo_warehouse)
    dau, mrr = latest(demo_warehouse, "daily_active_users"), latest(demo_warehouse, "mrr_monthly")
    assert {k: kpis.active[k] for k in ("dau", "wau", "mau")} == {k: dau[k] for k in ("dau", "wau", "mau")}
    assert (kpis.mrr["mrr"], kpis.mrr["customers"]) == (mrr["mrr"], mrr["customers"])
    text = format_kpis(kpis)
    assert f"DAU {dau['dau']:,} · WAU {dau['wau']:,} · MAU {dau['mau']:,}" in text
    assert f"MRR ${float(mrr['mrr']):,.2f}" in text and f"{mrr['customers']:,} customers" in text


def test_report_and_cards_show_the_analytics_objects_numbers(demo_warehouse: str) -> None:
    with psycopg.connect(demo_warehouse) as conn:
        for ref, (name, column) in HEADLINES.items():
            want = latest(demo_warehouse, name)[column]
            drawn = run_card(conn, CARDS[ref], {"start_date": None, "end_date": None}).frame
            assert float(drawn[column].iloc[0]) == float(want), f"report {ref}"  # the report plots floats
            query, params = render_sql(CARDS[ref].sql, {})  # what Metabase runs with no filter set
            cur = conn.execute(query.encode(), params)
            row = dict(zip([c.name for c in cur.description], cur.fetchone(), strict=True))
            assert row[column] == want, f"card {ref}"
