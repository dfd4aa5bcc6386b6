"""The dashboard definitions in sql/dashboards: what the issue asks for is there, the files are consistent,
cards read only analytics objects, and Metabase's optional-clause substitution works like Metabase's."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from saas_analytics.dashboards.definitions import (
    GRID_COLUMNS,
    DefinitionError,
    load_dashboards,
    referenced_relations,
    render_sql,
    template_tags,
)

REPO = Path(__file__).resolve().parents[3]
ROOT = REPO / "sql" / "dashboards"


@pytest.fixture(scope="module")
def dashboards():
    return {d.key: d for d in load_dashboards(ROOT)}


def test_the_dashboards_exist_in_order(dashboards) -> None:
    assert [d.name for d in load_dashboards(ROOT)] == ["Executive overview", "Engagement & retention", "Product",
                                                        "Revenue", "Pipeline health"]
    assert sorted(p.name for p in ROOT.glob("*.yml")) == sorted(f"{k}.yml" for k in dashboards)


def card(dashboards, ref: str):
    key, name = ref.split("/")
    return next(c for c in dashboards[key].cards if c.key == name)


@pytest.mark.parametrize(("ref", "display", "columns"), [
    # Executive overview: DAU/WAU/MAU with stickiness, MRR and ARR, MRR movements, KPIs as numbers
    ("executive_overview/active_users_trend", "line", {"activity_date", "dau", "wau", "mau"}),
    ("executive_overview/stickiness_trend", "line", {"activity_date", "stickiness"}),
    ("executive_overview/mrr_arr_trend", "bar", {"month", "mrr", "arr"}),
    ("executive_overview/mrr_movements", "bar", {"month", "new_mrr", "expansion_mrr", "reactivation_mrr",
                                                 "contraction_mrr", "churned_mrr"}),
    ("executive_overview/kpi_mrr", "scalar", {"mrr"}),
    ("executive_overview/kpi_arr", "scalar", {"arr"}),
    ("executive_overview/kpi_dau", "scalar", {"dau"}),
    ("executive_overview/kpi_stickiness", "scalar", {"stickiness"}),
    # Engagement & retention: cohort heat map, feature adoption, activity by platform
    ("engagement_retention/retention_heatmap", "heatmap", {"cohort", "months_since_signup", "retention_rate"}),
    ("engagement_retention/feature_adoption", "row", {"feature", "adoption_rate"}),
    ("engagement_retention/active_users_by_platform", "area", {"activity_date", "platform", "active_users"}),
    # Pipeline health: files and events loaded, quarantined by reason, run durations
    ("pipeline_health/loads_per_run", "bar", {"run_started", "files_loaded", "events_loaded"}),
    ("pipeline_health/events_by_file", "bar", {"file_name", "valid_events"}),
    ("pipeline_health/quarantine_by_reason", "row", {"reason", "quarantined_lines"}),
    ("pipeline_health/run_durations", "bar", {"run_started", "stage", "seconds"}),
    # Product: lifecycle with dormant below zero, funnels with in-progress, sessions and depth, channels
    ("product/lifecycle_weekly", "bar", {"week", "new_users", "returning_users", "resurrecting_users",
                                         "dormant_users"}),
    ("product/funnel_steps", "bar", {"step_label", "reached_users", "in_progress_users"}),
    ("product/sessions_daily", "line", {"activity_date", "sessions", "users"}),
    ("product/session_depth", "line", {"activity_date", "avg_events_per_session", "median_session_seconds"}),
    ("product/acquisition_by_channel", "bar", {"signup_month", "channel", "signups"}),
])
def test_the_issue_cards_are_defined(dashboards, ref: str, display: str, columns: set[str]) -> None:
    found = card(dashboards, ref)
    assert found.display == display
    assert columns <= set(found.required_columns)


def test_date_filters_where_they_make_sense(dashboards) -> None:
    for dashboard in dashboards.values():
        assert [(f.slug, f.type) for f in dashboard.filters] == [("start_date", "date"), ("end_date", "date")]
    unfiltered = sorted(c.ref for d in dashboards.values() for c in d.cards if not c.tags)
    assert unfiltered == ["engagement_retention/feature_adoption"], "only all-time feature adoption is unfiltered"
    for dashboard in dashboards.values():
        for c in dashboard.cards:
            assert all(f"{{{{{t}}}}}" in c.sql for t in c.tags)
            assert "[[" in c.sql or not c.tags, f"{c.ref}: filters must sit in optional [[ ]] clauses"


def test_cards_read_only_analytics_objects(dashboards) -> None:
    for dashboard in dashboards.values():
        for c in dashboard.cards:
            relations = referenced_relations(c.sql)
            assert relations, c.ref
            assert {schema for schema, _ in relations} == {"analytics"}, (c.ref, relations)


def test_every_sql_file_belongs_to_a_card_and_layouts_fit_the_grid(dashboards) -> None:
    on_disk = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("*/*.sql"))
    used = sorted({f"{c.dashboard_key}/{c.sql_path.name}" for d in dashboards.values() for c in d.cards})
    assert on_disk == used
    for dashboard in dashboards.values():
        assert all(c.layout.col + c.layout.width <= GRID_COLUMNS for c in dashboard.cards)
        assert max(c.layout.col + c.layout.width for c in dashboard.cards) == GRID_COLUMNS, "rows fill the width"


# --- Metabase's substitution, reproduced for the report and the tests -----------------------------

QUERY = """select activity_date from analytics.daily_active_users
where true
    [[and activity_date >= {{start_date}}::date]]
    [[and activity_date <= {{ end_date }}::date]]
    and note like 'x%'"""


def test_render_sql_drops_optional_clauses_without_values() -> None:
    text, params = render_sql(QUERY)
    assert "{{" not in text and "[[" not in text and "activity_date >=" not in text
    assert "like 'x%%'" in text, "literal percent signs are escaped for psycopg"
    assert params == {}


def test_render_sql_fills_clauses_with_values() -> None:
    text, params = render_sql(QUERY, {"start_date": date(2026, 6, 1), "end_date": None})
    assert "activity_date >= %(start_date)s::date" in text
    assert "end_date" not in text
    assert params == {"start_date": date(2026, 6, 1)}


def test_render_sql_requires_values_outside_optional_clauses() -> None:
    with pytest.raises(DefinitionError, match="needs a value for {{start_date}}"):
        render_sql("select {{start_date}}::date")
    assert render_sql("select {{start_date}}::date", {"start_date": "2026-01-01"})[1] == {"start_date": "2026-01-01"}
    assert template_tags(QUERY) == ["start_date", "end_date"]


def test_relation_scanner_sees_through_ctes_comments_and_functions() -> None:
    sql = """-- reads from the raw events? no: this comment says from raw.events
    with days as (select generate_series(1, 2) as d from analytics.x),
    more as (select extract(year from d) from days join analytics.y on true)
    select 'from raw.z' from more, lateral generate_series(1, 3) as g"""
    assert referenced_relations(sql) == [("analytics", "x"), ("analytics", "y")]
    assert referenced_relations("select * from core.dim_users") == [("core", "dim_users")]
    assert referenced_relations("select * from dim_users") == [(None, "dim_users")]


# --- invalid definitions are refused with the file named ------------------------------------------


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "dashboards"
    shutil.copytree(ROOT, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(("file", "old", "new", "message"), [
    ("executive_overview/kpi_latest_month.sql", "from analytics.mrr_monthly", "from core.fact_subscription_events",
     "reads core.fact_subscription_events; cards may read only"),
    ("executive_overview/kpi_latest_month.sql", "{{start_date}}", "{{since}}", "{{since}} is not a filter"),
    ("executive_overview.yml", "layout: {row: 0, col: 4, width: 4, height: 3}",
     "layout: {row: 0, col: 2, width: 4, height: 3}", "overlap"),
    ("executive_overview.yml", "layout: {row: 0, col: 20, width: 4, height: 3}",
     "layout: {row: 0, col: 21, width: 4, height: 3}", "outside the 24-column grid"),
    ("engagement_retention.yml", "display: heatmap", "display: sunburst", "display 'sunburst' is not one of"),
    ("engagement_retention.yml", "    value: retention_rate\n", "", "display 'heatmap' needs `value`"),
    ("pipeline_health.yml", "sql: recent_runs.sql", "sql: missing.sql", "missing.sql does not exist"),
    ("pipeline_health.yml", "format: {files_loaded: integer}", "format: {files_loaded: bytes}", "format maps"),
])
def test_invalid_definitions_are_refused(copy: Path, file: str, old: str, new: str, message: str) -> None:
    edit(copy / file, old, new)
    with pytest.raises(DefinitionError, match=message.replace("{", r"\{").replace("}", r"\}").replace("(", r"\(")):
        load_dashboards(copy)


def test_a_stray_sql_file_is_refused(copy: Path) -> None:
    (copy / "pipeline_health" / "forgotten.sql").write_text("select 1 from analytics.pipeline_runs")
    with pytest.raises(DefinitionError, match="forgotten.sql is not used by any card"):
        load_dashboards(copy)
