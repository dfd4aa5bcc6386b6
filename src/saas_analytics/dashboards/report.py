"""`saas-analytics report`: the dashboard definitions, run against the warehouse, as one offline HTML file.

Every card's SQL runs (read-only) with its optional `[[ … ]]` filter clauses dropped, or filled from
--start/--end; each result becomes a plotly figure. The page embeds plotly.js once, inline, and each
figure as JSON, so it opens without a network. Cards sit on the same 24-column grid as in Metabase.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import plotly
import plotly.graph_objects as go
import psycopg
from plotly.offline import get_plotlyjs

from saas_analytics.dashboards.definitions import GRID_COLUMNS, Card, Dashboard, load_dashboards, render_sql
from saas_analytics.queries import fetch_one

REPORT_NAME = "saas_analytics_report.html"
ROW_PX = 64  # height of one grid row
GAP_PX = 10  # space between grid cells
COLORS = ["#509EE3", "#88BF4D", "#A989C5", "#EF8C8C", "#F9D45C", "#F2A86F", "#98D9D9", "#7172AD"]
TICK_FORMAT = {"currency": "$,.0f", "percent": ".0%", "integer": ",d", "number": ",.2f", "seconds": ",.1f"}
HOVER_FORMAT = {"currency": "$,.2f", "percent": ".1%", "integer": ",d", "number": ",.3f", "seconds": ",.2f"}


@dataclass(frozen=True)
class CardResult:
    """A card's query result."""

    card: Card
    frame: pd.DataFrame
    seconds: float


@dataclass(frozen=True)
class ReportResult:
    """What `build_report` wrote."""

    path: Path
    size_bytes: int
    dashboards: int
    cards: int
    empty_cards: list[str]


def default_report_path() -> Path:
    """`<data_dir>/reports/saas_analytics_report.html`."""
    from saas_analytics.config import get_settings

    return get_settings().data_dir / "reports" / REPORT_NAME


def _plain(value: Any) -> Any:
    """Decimals → float, so pandas and plotly see numbers."""
    return float(value) if isinstance(value, Decimal) else value


def run_card(conn: psycopg.Connection, card: Card, values: dict[str, Any]) -> CardResult:
    """Run one card's SQL; return its rows as a DataFrame."""
    query, params = render_sql(card.sql, values)
    started = datetime.now(UTC)
    try:
        cur = conn.execute(query.encode(), params)
    except psycopg.Error as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        hint = ("; run the pipeline first (saas-analytics run) so the analytics views exist"
                if isinstance(exc, psycopg.errors.UndefinedTable) else "")
        raise RuntimeError(f"card {card.ref} ({card.sql_path}) failed: {first_line}{hint}") from exc
    columns = [c.name for c in cur.description or []]
    frame = pd.DataFrame([[_plain(v) for v in row] for row in cur.fetchall()], columns=columns)
    return CardResult(card, frame, (datetime.now(UTC) - started).total_seconds())


# --------------------------------------------------------------------------------------------------
# figures


def _axis_format(card: Card, columns: tuple[str, ...] | list[str]) -> dict[str, Any]:
    kinds = {card.formats.get(c) for c in columns} - {None}
    return {"tickformat": TICK_FORMAT[kinds.pop()]} if len(kinds) == 1 else {}


def _label(column: str) -> str:
    return column.replace("_", " ")


def _series_colors(values: pd.Series) -> dict[str, str]:
    """A colour per series value, by sorted value, so e.g. a platform has one colour on every chart."""
    return {name: COLORS[i % len(COLORS)] for i, name in enumerate(sorted({str(v) for v in values}))}


def _is_monthly(values: pd.Series) -> bool:
    """Whether a column holds first-of-month dates (shown as month names on a category axis)."""
    items = values.dropna().tolist()
    return bool(items) and all(isinstance(v, date) and not isinstance(v, datetime) and v.day == 1 for v in items)


def _base_layout(card: Card, height: int) -> dict[str, Any]:
    return {
        "height": height, "margin": {"l": 56, "r": 24, "t": 28, "b": 40}, "colorway": COLORS,
        "paper_bgcolor": "white", "plot_bgcolor": "white", "font": {"family": "system-ui, sans-serif", "size": 12},
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"}, "hovermode": "x unified",
        "xaxis": {"title": {"text": card.x_title or ""}, "gridcolor": "#eef0f3", "automargin": True},
        "yaxis": {"title": {"text": card.y_title or ""}, "gridcolor": "#eef0f3", "automargin": True,
                  "zerolinecolor": "#c9ced6"},
    }


def _xy_figure(card: Card, frame: pd.DataFrame, height: int) -> go.Figure:
    fig = go.Figure()
    layout = _base_layout(card, height)
    horizontal = card.display == "row"

    def trace(name: str, x, y, column: str, secondary: bool = False):
        fmt = HOVER_FORMAT.get(card.formats.get(column, ""), "")
        value = ("%{x" if horizontal else "%{y") + (":" + fmt if fmt else "") + "}"
        common: dict[str, Any] = {"name": name, "hovertemplate": f"{value}<extra>{html.escape(name)}</extra>"}
        if secondary:
            common["yaxis"] = "y2"
        if horizontal:
            return go.Bar(x=y, y=x, orientation="h", **common)
        if card.display == "bar" and not secondary:
            return go.Bar(x=x, y=y, **common)
        if card.display == "area":
            common |= {"stackgroup": "one"} if card.stacked else {"fill": "tozeroy"}
        return go.Scatter(x=x, y=y, mode="lines" if len(x) > 40 else "lines+markers", **common)

    frame = frame.copy()
    if _is_monthly(frame[card.x]):
        frame[card.x] = frame[card.x].map(lambda d: d.strftime("%b %Y"))
        layout["xaxis"]["type"] = "category"
    elif frame[card.x].map(lambda v: isinstance(v, str)).all():
        # labels, even when they look like dates
        layout["yaxis" if horizontal else "xaxis"] |= {"type": "category", "nticks": 30}
    if card.series:
        column = card.y[0]
        colors = _series_colors(frame[card.series])
        for name, part in frame.groupby(card.series, sort=False):
            fig.add_trace(trace(str(name), part[card.x].tolist(), part[column].tolist(), column))
            color = {"marker": {"color": colors[str(name)]}}
            if isinstance(fig.data[-1], go.Scatter):
                color["line"] = {"color": colors[str(name)]}
            fig.data[-1].update(color)
    else:
        for column in card.y:
            fig.add_trace(trace(_label(column), frame[card.x].tolist(), frame[column].tolist(), column))
        for column in card.y2:
            fig.add_trace(trace(_label(column), frame[card.x].tolist(), frame[column].tolist(), column, True))
    if card.display in ("bar", "row"):
        layout["barmode"] = "relative" if card.stacked else "group"
    value_axis = _axis_format(card, list(card.y))
    if horizontal:
        layout["xaxis"] |= value_axis | {"title": {"text": card.y_title or ""}}
        layout["yaxis"] |= {"autorange": "reversed", "title": {"text": card.x_title or ""}}
        layout["hovermode"] = "closest"
        layout["margin"]["l"] = 120
    else:
        layout["yaxis"] |= value_axis
    if card.y2:
        layout["yaxis2"] = {"overlaying": "y", "side": "right", "showgrid": False, "automargin": True,
                            "rangemode": "tozero",
                            "title": {"text": ", ".join(_label(c) for c in card.y2)}} | _axis_format(card, card.y2)
        layout["margin"]["r"] = 64
    if frame[card.x].map(lambda v: isinstance(v, str)).all() and len(frame) > 12 and not horizontal:
        layout["xaxis"]["tickangle"] = -45
    fig.update_layout(layout)
    return fig


def _scalar_figure(card: Card, frame: pd.DataFrame, height: int) -> go.Figure:
    value = frame[card.value].iloc[0]
    fmt = card.formats.get(card.value, "number")
    number: dict[str, Any] = {"valueformat": {"currency": ",.0f", "percent": ".1%", "integer": ",d",
                                              "number": ",.2f", "seconds": ",.1f"}[fmt],
                              "font": {"size": 40, "color": "#2e353b"}}
    if fmt == "currency":
        number["prefix"] = "$"
    if fmt == "seconds":
        number["suffix"] = " s"
    indicator: dict[str, Any] = {"mode": "number", "value": None if pd.isna(value) else float(value),
                                 "number": number}
    reference = frame[card.compare].iloc[0] if card.compare else None
    if reference is not None and not pd.isna(reference) and float(reference) != 0:
        indicator["mode"] = "number+delta"
        indicator["delta"] = {"reference": float(reference), "relative": True, "valueformat": ".1%",
                              "font": {"size": 14}}
        if card.key.endswith("seconds"):
            indicator["delta"] |= {"increasing": {"color": "#ED6E6E"}, "decreasing": {"color": "#84BB4C"}}
    fig = go.Figure(go.Indicator(**indicator))
    fig.update_layout(height=height, margin={"l": 8, "r": 8, "t": 4, "b": 4}, paper_bgcolor="white",
                      font={"family": "system-ui, sans-serif"})
    return fig


def _format_cell(value: Any, kind: str | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if kind == "currency":
        return f"${float(value):,.2f}"
    if kind == "percent":
        return f"{float(value):.1%}"
    if kind == "integer":
        return f"{int(value):,}"
    if kind == "seconds":
        return f"{float(value):,.1f} s"
    if kind == "number":
        return f"{float(value):,.3f}"
    return str(value)


def _table_figure(card: Card, frame: pd.DataFrame, height: int) -> go.Figure:
    columns = list(card.columns)
    cells = [[_format_cell(v, card.formats.get(c)) for v in frame[c].tolist()] for c in columns]
    fig = go.Figure(go.Table(
        header={"values": [f"<b>{html.escape(_label(c))}</b>" for c in columns], "fill_color": "#f3f5f7",
                "align": "left", "font": {"size": 12}},
        cells={"values": cells, "align": ["left"] + ["right"] * (len(columns) - 1), "height": 24,
               "fill_color": "white", "line_color": "#eef0f3"},
    ))
    fig.update_layout(height=height, margin={"l": 4, "r": 4, "t": 4, "b": 4})
    return fig


def _heatmap_figure(card: Card, frame: pd.DataFrame, height: int) -> go.Figure:
    """A heat map; when the query has an `is_complete` column, immature cells (False) are drawn in grey."""
    immature = frame["is_complete"].eq(False) if "is_complete" in frame.columns else pd.Series(False, frame.index)
    fmt = HOVER_FORMAT.get(card.formats.get(card.value, ""), "")
    fig = go.Figure()
    for part, colorscale, note in ((~immature, "Blues", ""), (immature, "Greys", " (month not over yet)")):
        if not part.any() and colorscale == "Greys":
            continue
        values = frame[card.value].where(part)
        grid = frame.assign(**{card.value: values}).pivot(index=card.y[0], columns=card.x, values=card.value)
        grid = grid.sort_index()
        z = [[None if pd.isna(v) else float(v) for v in row] for row in grid.to_numpy()]
        fig.add_trace(go.Heatmap(
            z=z, x=[str(c) for c in grid.columns], y=[str(i) for i in grid.index], colorscale=colorscale,
            zmin=0, zmax=1 if card.formats.get(card.value) == "percent" else None, name=note.strip(" ()") or "",
            texttemplate="%{z" + (":" + fmt if fmt else "") + "}", hoverongaps=False, showscale=not note,
            opacity=0.55 if note else 1.0,
            hovertemplate=f"%{{y}}, month %{{x}}: %{{z{':' + fmt if fmt else ''}}}{note}<extra></extra>",
            colorbar={"tickformat": TICK_FORMAT.get(card.formats.get(card.value, ""), "")},
        ))
    layout = _base_layout(card, height)
    layout["yaxis"] |= {"autorange": "reversed", "type": "category"}
    layout["xaxis"] |= {"type": "category", "side": "top"}
    layout["margin"] |= {"t": 40, "l": 140}
    layout["hovermode"] = "closest"
    fig.update_layout(layout)
    return fig


def _waterfall_figure(card: Card, frame: pd.DataFrame, height: int) -> go.Figure:
    """A bridge: the first row is where it starts, each later row moves it, the last bar (the total) is the end."""
    column = card.y[0]
    labels = [*frame[card.x].astype(str).tolist(), "End"]
    values = [None if pd.isna(v) else float(v) for v in frame[column].tolist()]
    fmt = HOVER_FORMAT.get(card.formats.get(column, ""), "")
    fig = go.Figure(go.Waterfall(
        x=labels, y=[*values, None], measure=["absolute"] + ["relative"] * (len(values) - 1) + ["total"],
        texttemplate="%{y" + (":" + fmt if fmt else "") + "}", textposition="outside",
        hovertemplate="%{x}: %{y" + (":" + fmt if fmt else "") + "}<extra></extra>",
        increasing={"marker": {"color": "#88BF4D"}}, decreasing={"marker": {"color": "#EF8C8C"}},
        totals={"marker": {"color": "#509EE3"}}, connector={"line": {"color": "#c9ced6"}},
    ))
    layout = _base_layout(card, height)
    layout["yaxis"] |= _axis_format(card, [column])
    layout["xaxis"] |= {"type": "category"}
    layout["hovermode"] = "closest"
    layout["showlegend"] = False
    fig.update_layout(layout)
    return fig


def _pie_figure(card: Card, frame: pd.DataFrame, height: int) -> go.Figure:
    labels = frame[card.x].astype(str).tolist()
    colors = _series_colors(frame[card.x])
    fig = go.Figure(go.Pie(labels=labels, values=frame[card.y[0]].tolist(), hole=0.45, sort=False,
                           marker={"colors": [colors[label] for label in labels]}, textinfo="label+percent"))
    fig.update_layout(height=height, margin={"l": 8, "r": 8, "t": 8, "b": 8}, showlegend=False,
                      font={"family": "system-ui, sans-serif"})
    return fig


def _empty_figure(height: int, message: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(height=height, margin={"l": 8, "r": 8, "t": 8, "b": 8}, xaxis={"visible": False},
                      yaxis={"visible": False}, paper_bgcolor="white", plot_bgcolor="white",
                      annotations=[{"text": message, "showarrow": False, "font": {"size": 14, "color": "#949aab"},
                                    "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}])
    return fig


def figure_height(card: Card) -> int:
    """The figure's height in pixels: the card's grid rows minus its title."""
    return card.layout.height * ROW_PX + (card.layout.height - 1) * GAP_PX - 52


def make_figure(card: Card, frame: pd.DataFrame) -> go.Figure:
    """The plotly figure for a card's result (an annotated empty figure when there are no rows)."""
    height = figure_height(card)
    if frame.empty:
        return _empty_figure(height, "No data for this period")
    builder = {"scalar": _scalar_figure, "table": _table_figure, "heatmap": _heatmap_figure,
               "pie": _pie_figure, "waterfall": _waterfall_figure}.get(card.display, _xy_figure)
    return builder(card, frame, height)


# --------------------------------------------------------------------------------------------------
# the page

STYLE = """
:root { --ink: #2e353b; --muted: #696e7b; --line: #e6e9ee; --bg: #f9fbfc; --accent: #509ee3; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: var(--bg); }
header.page { padding: 24px 32px 8px; }
header.page h1 { margin: 0 0 4px; font-size: 24px; }
header.page p { margin: 2px 0; color: var(--muted); }
nav { padding: 4px 32px 0; }
nav a { color: var(--accent); margin-right: 18px; text-decoration: none; font-weight: 600; }
section.dashboard { padding: 16px 32px 24px; }
section.dashboard > h2 { margin: 12px 0 2px; font-size: 20px; }
section.dashboard > p.description { margin: 0 0 12px; color: var(--muted); max-width: 1100px; }
p.filters { margin: 0 0 12px; color: var(--muted); font-size: 12px; }
.grid { display: grid; grid-template-columns: repeat(24, minmax(0, 1fr)); grid-auto-rows: {row}px; gap: {gap}px; }
article.card { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px;
               display: flex; flex-direction: column; min-width: 0; overflow: hidden; }
article.card h3 { margin: 0; font-size: 14px; font-weight: 700; white-space: nowrap; overflow: hidden;
                  text-overflow: ellipsis; }
article.card .chart { flex: 1; min-height: 0; }
footer { padding: 8px 32px 32px; color: var(--muted); font-size: 12px; }
"""

LOADER = """
(function () {
  window.__reportErrors = [];
  window.addEventListener('error', function (e) { window.__reportErrors.push(String(e.message || e)); });
  var charts = Array.prototype.slice.call(document.querySelectorAll('.chart[data-figure]'));
  var config = {displayModeBar: false, responsive: true};
  var pending = charts.map(function (el) {
    var spec = JSON.parse(document.getElementById(el.dataset.figure).textContent);
    return Plotly.newPlot(el, spec.data, spec.layout, config).then(function () { el.dataset.rendered = 'true'; });
  });
  Promise.all(pending).then(function () {
    window.__reportReady = true;
    document.body.dataset.rendered = String(charts.length);
  }).catch(function (err) { window.__reportErrors.push(String(err)); window.__reportReady = true; });
})();
"""


def _figure_json(fig: go.Figure) -> str:
    """The figure as JSON safe inside a <script> element."""
    return fig.to_json(validate=False).replace("</", "<\\/")


def _period_text(start: date | None, end: date | None) -> str:
    if not start and not end:
        return "all data"
    return f"{start.isoformat() if start else 'the beginning'} to {end.isoformat() if end else 'the latest day'}"


def render_html(results: list[tuple[Dashboard, list[CardResult]]], start: date | None, end: date | None,
                generated_at: datetime, data_period: str) -> str:
    """The whole page."""
    parts: list[str] = []
    chart_no = 0
    nav = " ".join(f'<a href="#{html.escape(d.key)}">{html.escape(d.name)}</a>' for d, _ in results)
    for dashboard, card_results in results:
        cards_html = []
        for result in card_results:
            card = result.card
            chart_no += 1
            fig = make_figure(card, result.frame)
            lay = card.layout
            style = (f"grid-column: {lay.col + 1} / span {lay.width}; grid-row: {lay.row + 1} / span {lay.height}")
            cards_html.append(
                f'<article class="card" style="{style}" data-card="{html.escape(card.ref)}" '
                f'data-display="{card.display}" data-rows="{len(result.frame)}">'
                f'<h3 title="{html.escape(card.description)}">{html.escape(card.name)}</h3>'
                f'<div class="chart" id="chart-{chart_no}" data-figure="figure-{chart_no}"></div>'
                f'<script type="application/json" id="figure-{chart_no}">{_figure_json(fig)}</script>'
                "</article>"
            )
        filters = ", ".join(f.name for f in dashboard.filters)
        filter_note = (f"Filters (in Metabase): {html.escape(filters)}. This report: {_period_text(start, end)}."
                       if filters else "")
        parts.append(
            f'<section class="dashboard" id="{html.escape(dashboard.key)}">'
            f"<h2>{html.escape(dashboard.name)}</h2>"
            f'<p class="description">{html.escape(dashboard.description)}</p>'
            f'<p class="filters">{filter_note}</p>'
            f'<div class="grid">{"".join(cards_html)}</div></section>'
        )
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>SaaS analytics report</title><link rel=\"icon\" href=\"data:,\">"
        f"<style>{STYLE.replace('{row}', str(ROW_PX)).replace('{gap}', str(GAP_PX))}</style>"
        f"<script>/* plotly.js {plotly.__version__} (plotly.py), MIT licence */\n{get_plotlyjs()}</script>"
        "</head><body>"
        '<header class="page"><h1>SaaS analytics</h1>'
        f"<p>Period: {html.escape(_period_text(start, end))} · data from {html.escape(data_period)} (UTC) · "
        f"generated {generated_at:%Y-%m-%d %H:%M} UTC by <code>saas-analytics report</code></p>"
        f"<p>The same dashboards Metabase shows, from <code>sql/dashboards</code>; works offline.</p></header>"
        f"<nav>{nav}</nav>{''.join(parts)}"
        f"<footer>{chart_no} charts · plotly.js {plotly.__version__} embedded</footer>"
        f"<script>{LOADER}</script></body></html>\n"
    )


def build_report(conninfo: str, output: Path | None = None, start: date | None = None, end: date | None = None,
                 dashboards: list[Dashboard] | None = None) -> ReportResult:
    """Run every card against the warehouse (read-only) and write the HTML report; return what was written."""
    if start and end and end < start:
        raise ValueError(f"--end ({end}) is before --start ({start})")
    dashboards = dashboards if dashboards is not None else load_dashboards()
    output = output or default_report_path()
    values = {"start_date": start, "end_date": end}
    results: list[tuple[Dashboard, list[CardResult]]] = []
    with psycopg.connect(conninfo) as conn:
        conn.read_only = True
        for dashboard in dashboards:
            results.append((dashboard, [run_card(conn, card, values) for card in dashboard.cards]))
        bounds = fetch_one(conn, "activity_bounds")
    has_data = bounds is not None and bounds["first_day"] is not None
    data_period = f"{bounds['first_day']} to {bounds['last_day']}" if has_data else "no activity yet"
    page = render_html(results, start, end, datetime.now(UTC), data_period)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(output)
    empty = [r.card.ref for _, rs in results for r in rs if r.frame.empty]
    return ReportResult(path=output, size_bytes=output.stat().st_size, dashboards=len(results),
                        cards=sum(len(rs) for _, rs in results), empty_cards=empty)


__all__ = ["GRID_COLUMNS", "ReportResult", "build_report", "default_report_path", "make_figure"]
