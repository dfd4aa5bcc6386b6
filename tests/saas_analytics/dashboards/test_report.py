"""`saas-analytics report`: one self-contained HTML file with a plotly chart per card, from the demo warehouse."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import plotly
import pytest

from saas_analytics.dashboards.definitions import load_dashboards
from saas_analytics.dashboards.report import REPORT_NAME, build_report

REPO = Path(__file__).resolve().parents[3]
FIGURE = re.compile(r'<script type="application/json" id="figure-\d+">(.*?)</script>', re.DOTALL)
CARD_FIGURE = re.compile(r'data-card="([^"]+)".*?<script type="application/json" id="figure-\d+">(.*?)</script>',
                         re.DOTALL)


def figures_by_card(page: str) -> dict[str, dict]:
    return {ref: json.loads(text.replace("<\\/", "</")) for ref, text in CARD_FIGURE.findall(page)}


@pytest.fixture(scope="module")
def report(demo_warehouse: str, tmp_path_factory: pytest.TempPathFactory):
    return build_report(demo_warehouse, tmp_path_factory.mktemp("report") / REPORT_NAME)


def test_report_has_a_chart_per_card(report) -> None:
    dashboards = load_dashboards()
    page = report.path.read_text()
    assert report.dashboards == len(dashboards)
    assert report.cards == sum(len(d.cards) for d in dashboards) == len(FIGURE.findall(page))
    assert report.empty_cards == []
    for dashboard in dashboards:
        assert f'id="{dashboard.key}"' in page
        for card in dashboard.cards:
            assert f'data-card="{card.ref}"' in page
    figures = [json.loads(text.replace("<\\/", "</")) for text in FIGURE.findall(page)]
    assert all(figure["data"] for figure in figures), "every figure has at least one trace"
    kinds = {trace["type"] for figure in figures for trace in figure["data"]}
    assert {"scatter", "bar", "heatmap", "indicator", "table", "pie"} <= kinds


def test_report_is_self_contained(report) -> None:
    page = report.path.read_text()
    assert f"plotly.js {plotly.__version__}" in page
    assert page.count("Plotly.newPlot") == 1, "one loader draws every figure"
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "<script></script>", page, flags=re.DOTALL)
    assert not re.search(r"<script[^>]+src=", markup), "no external scripts"
    assert not re.search(r"<link[^>]+href=\"(?!data:)", markup), "no external stylesheets or icons"
    assert not re.search(r"(src|href)=\"https?://", markup), "nothing loaded from the network"
    assert 2_000_000 < report.size_bytes < 20_000_000, "plotly.js is inlined once"


def test_report_for_a_period(demo_warehouse: str, tmp_path: Path) -> None:
    result = build_report(demo_warehouse, tmp_path / "july.html", date(2026, 7, 1), date(2026, 7, 31))
    page = result.path.read_text()
    assert "Period: 2026-07-01 to 2026-07-31" in page
    days = figures_by_card(page)["executive_overview/active_users_trend"]["data"][0]["x"]
    assert (min(days), max(days)) == ("2026-07-01", "2026-07-31")
    # the run audit is dated by when the test loaded it, so pipeline cards may be empty for a past period
    assert all(ref.startswith("pipeline_health/") for ref in result.empty_cards), result.empty_cards
    with pytest.raises(ValueError, match="before --start"):
        build_report(demo_warehouse, tmp_path / "x.html", date(2026, 7, 31), date(2026, 7, 1))


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from saas_analytics.cli import main; main()", *args],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=300, cwd=REPO)


def test_cli_writes_the_report_into_the_data_folder(demo_warehouse: str, tmp_path: Path) -> None:
    result = run_cli(["report"], {"DATABASE_URL": demo_warehouse, "DATA_DIR": str(tmp_path / "data")})
    assert result.returncode == 0, result.stderr
    path = tmp_path / "data" / "reports" / REPORT_NAME
    assert path.is_file()
    assert result.stdout.strip().splitlines()[-1].strip() == str(path), "the last line is the report's path"
    assert f"charts in {len(load_dashboards())} dashboards" in result.stdout


def test_cli_failure_is_one_line(tmp_path: Path) -> None:
    result = run_cli(["report", "--start", "2026-07-31", "--end", "2026-07-01"],
                     {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "DATA_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        "error: --end (2026-07-01) is before --start (2026-07-31)"]


def test_report_on_a_warehouse_without_analytics_says_what_to_do(warehouse_db: str, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="does not exist; run the pipeline first"):
        build_report(warehouse_db, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_retention_heatmap_draws_immature_cells_apart(report) -> None:
    """Cells whose month has not ended (is_complete false) are a second, grey trace, not part of the scale."""
    page = report.path.read_text()
    heatmap = figures_by_card(page)["engagement_retention/retention_heatmap"]["data"]
    assert [trace["showscale"] for trace in heatmap] == [True, False]
    mature, immature = heatmap
    cells = [(y, x) for trace in (mature, immature) for y, row in zip(trace["y"], trace["z"], strict=True)
             for x, value in zip(trace["x"], row, strict=True) if value is not None]
    assert len(cells) == len(set(cells)), "each cell is drawn by exactly one trace"
    assert any(v is not None for row in immature["z"] for v in row), "the demo's latest month is not over"


def test_product_dashboard_shows_every_funnel(report) -> None:
    page = report.path.read_text()
    figures = figures_by_card(page)
    labels = figures["product/funnel_steps"]["data"][0]["x"]
    assert {label.split(" ")[0] for label in labels} >= {"activation", "trial_to_paid"}
    dormant = next(t for t in figures["product/lifecycle_weekly"]["data"] if t["name"] == "dormant users")
    assert min(dormant["y"]) < 0, "dormant persons are drawn below zero"
