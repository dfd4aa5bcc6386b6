"""Every card's SQL, generated from the definitions, runs against the demo warehouse as the read-only BI role
and returns rows with the columns its visualization uses: with no filter (what Metabase runs by default and
the report shows) and with a From/To period (what the dashboard filters send)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from saas_analytics.dashboards.definitions import Card, load_dashboards, render_sql

CARDS = [card for dashboard in load_dashboards() for card in dashboard.cards]
NUMBER = (int, float, Decimal)


def run(conninfo: str, card: Card, values: dict | None = None) -> tuple[list[str], list[tuple]]:
    query, params = render_sql(card.sql, values)
    with psycopg.connect(conninfo) as conn:
        cur = conn.execute(query.encode(), params)
        return [c.name for c in cur.description], cur.fetchall()


def value_columns(card: Card) -> list[str]:
    """The columns drawn as numbers."""
    if card.display == "table":
        return []
    return [c for c in (*card.y, *card.y2, card.value) if c] if card.display != "heatmap" else [card.value]


@pytest.fixture(scope="module")
def demo_period(reader_conninfo: str) -> tuple[date, date]:
    with psycopg.connect(reader_conninfo) as conn:
        first, last = conn.execute(
            "select min(activity_date), max(activity_date) from analytics.daily_active_users").fetchone()
    return first, last


@pytest.mark.parametrize("card", CARDS, ids=[c.ref for c in CARDS])
def test_card_returns_rows_with_its_columns(reader_conninfo: str, card: Card) -> None:
    columns, rows = run(reader_conninfo, card)
    missing = [c for c in card.required_columns if c not in columns]
    assert not missing, f"{card.sql_path}: the {card.display} needs columns {missing}; the query returns {columns}"
    assert rows, f"{card.sql_path} returned no rows on the demo warehouse"
    for column in value_columns(card):
        values = [row[columns.index(column)] for row in rows]
        assert any(v is not None for v in values), f"{card.ref}: {column} is always null"
        assert all(v is None or isinstance(v, NUMBER) for v in values), f"{card.ref}: {column} is not numeric"
    if card.display in ("line", "area") and not card.series:
        xs = [row[columns.index(card.x)] for row in rows]
        assert xs == sorted(xs), f"{card.ref}: a trend should come ordered by {card.x}"


@pytest.mark.parametrize("card", [c for c in CARDS if c.tags], ids=[c.ref for c in CARDS if c.tags])
def test_card_honours_the_date_filters(reader_conninfo: str, demo_period: tuple[date, date], card: Card) -> None:
    first, last = demo_period
    start, end = first + timedelta(days=35), last - timedelta(days=10)
    columns, rows = run(reader_conninfo, card, {"start_date": start, "end_date": end})
    assert set(card.required_columns) <= set(columns)
    _, unfiltered = run(reader_conninfo, card)
    assert len(rows) <= len(unfiltered)
    x = card.x if card.x in columns else None
    for row in rows:
        value = row[columns.index(x)] if x else None
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, date) and x in ("activity_date",):
            assert start <= value <= end, (card.ref, value)
        elif isinstance(value, date) and x in ("month", "cohort_month"):
            assert start.replace(day=1) <= value <= end, (card.ref, value)
    if card.ref.startswith(("executive_overview/", "engagement_retention/")):
        assert rows, f"{card.ref}: no rows for {start}..{end}, inside the demo period {first}..{last}"
    if card.ref == "executive_overview/kpi_dau":
        assert rows[0][columns.index("activity_date")] == end, "KPIs show the last day of the period"
