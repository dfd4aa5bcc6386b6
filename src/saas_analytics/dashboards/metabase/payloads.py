"""The desired state, built from the dashboard definitions: Metabase's card, dashboard and dashcard payloads."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from saas_analytics.dashboards.definitions import Card, Dashboard, Filter

MANAGED_MARKER = "[managed by saas-analytics]"
TAG_NAMESPACE = uuid.UUID("5b0f6d2e-0c1f-4d8e-9a53-2f7d0c9b6a11")


def tag_id(card: Card, tag: str) -> str:
    """A stable UUID for a card's template tag (Metabase wants one per tag)."""
    return str(uuid.uuid5(TAG_NAMESPACE, f"{card.ref}/{tag}"))


def parameter_id(dashboard: Dashboard, flt: Filter) -> str:
    """A stable id for a dashboard filter (Metabase uses 8 hex digits)."""
    return hashlib.sha256(f"{dashboard.key}/{flt.slug}".encode()).hexdigest()[:8]


def describe(text: str, source: str) -> str:
    """A description that says where the item comes from, ending with the managed marker."""
    note = (f"Defined in {source}; `saas-analytics metabase provision` overwrites changes made here. "
            f"{MANAGED_MARKER}")
    return f"{text}\n\n{note}" if text else note


def is_managed(item: Mapping[str, Any]) -> bool:
    """Whether an item's description carries the marker."""
    return MANAGED_MARKER in str(item.get("description") or "")


FORMAT_SETTINGS: dict[str, dict[str, Any]] = {
    "currency": {"number_style": "currency", "currency": "USD", "currency_style": "symbol", "decimals": 0},
    "percent": {"number_style": "percent", "decimals": 1},
    "integer": {"number_style": "decimal", "decimals": 0},
    "number": {"number_style": "decimal", "decimals": 2},
    "seconds": {"number_style": "decimal", "decimals": 1, "suffix": " s"},
}
HEATMAP_FORMATTING = {
    "id": 0, "type": "range", "colors": ["#ffffff", "#509EE3"], "min_type": "custom", "min_value": 0,
    "max_type": "custom", "max_value": 1, "operator": "=", "value": "", "color": "#509EE3", "highlight_row": False,
}


def metabase_display(card: Card) -> str:
    """Metabase's `display` for a card: a heat map is a pivoted table with a colour range; bars with a
    right-axis series are a combo (bars on the left axis, lines on the right)."""
    if card.display == "heatmap":
        return "table"
    if card.display == "bar" and card.y2:
        return "combo"
    return card.display


def visualization_settings(card: Card) -> dict[str, Any]:
    """Metabase's `visualization_settings` for a card."""
    settings: dict[str, Any] = {}
    if card.display in ("line", "area", "bar", "row", "waterfall"):
        settings["graph.dimensions"] = [card.x, *([card.series] if card.series else [])]
        settings["graph.metrics"] = [*card.y, *card.y2]
        if card.stacked:
            settings["stackable.stack_type"] = "stacked"
        if card.y2:
            settings["series_settings"] = {c: {"axis": "left"} for c in card.y} | {
                c: {"axis": "right"} for c in card.y2}
            if card.display == "bar":
                for column in card.y:
                    settings["series_settings"][column]["display"] = "bar"
                for column in card.y2:
                    settings["series_settings"][column]["display"] = "line"
        if card.x_title:
            settings["graph.x_axis.title_text"] = card.x_title
        if card.y_title:
            settings["graph.y_axis.title_text"] = card.y_title
        if card.display == "waterfall":  # the first row is the start; Metabase adds the end as the total
            settings["waterfall.show_total"] = True
    elif card.display == "pie":
        settings["pie.dimension"] = card.x
        settings["pie.metric"] = card.y[0]
    elif card.display == "scalar":
        settings["scalar.field"] = card.value
    elif card.display == "table":
        settings["table.columns"] = [{"name": c, "enabled": True} for c in card.columns]
    elif card.display == "heatmap":
        settings["table.pivot"] = True
        settings["table.pivot_column"] = card.x
        settings["table.cell_column"] = card.value
        settings["table.column_formatting"] = [HEATMAP_FORMATTING | {"columns": [card.value]}]
    if card.formats:
        settings["column_settings"] = {
            json.dumps(["name", column], separators=(",", ":")): FORMAT_SETTINGS[kind]
            for column, kind in card.formats.items()
        }
    return settings


def template_tags(dashboard: Dashboard, card: Card) -> dict[str, dict[str, Any]]:
    """The card's `template-tags`: one optional `date` variable per filter its SQL uses."""
    tags = {}
    for slug in card.tags:
        flt = dashboard.filter(slug)
        tags[slug] = {"id": tag_id(card, slug), "name": slug, "display-name": flt.name, "type": flt.type,
                      "required": False}
    return tags


def card_parameters(dashboard: Dashboard, card: Card) -> list[dict[str, Any]]:
    """The card's `parameters` (what Metabase's editor derives from the template tags)."""
    return [
        {"id": tag_id(card, slug), "type": "date/single", "target": ["variable", ["template-tag", slug]],
         "name": dashboard.filter(slug).name, "slug": slug}
        for slug in card.tags
    ]


def source_of(item: Dashboard | Card) -> str:
    """Where an item is defined, relative to the repository: `sql/dashboards/…`."""
    if isinstance(item, Card):
        return f"sql/dashboards/{item.dashboard_key}/{item.sql_path.name}"
    return f"sql/dashboards/{item.path.name}"


def card_body(dashboard: Dashboard, card: Card, database_id: int, collection_id: int) -> dict:
    """The full `POST /api/card` body for a card."""
    return {
        "name": card.name,
        "type": "question",
        "description": describe(card.description, source_of(card)),
        "display": metabase_display(card),
        "visualization_settings": visualization_settings(card),
        "collection_id": collection_id,
        "parameters": card_parameters(dashboard, card),
        "dataset_query": {
            "type": "native",
            "database": database_id,
            "native": {"query": card.sql, "template-tags": template_tags(dashboard, card)},
        },
    }


def dashboard_parameters(dashboard: Dashboard) -> list[dict[str, Any]]:
    """The dashboard's filters as Metabase parameters (single-date widgets in the date section)."""
    return [
        {"id": parameter_id(dashboard, f), "name": f.name, "slug": f.slug, "type": "date/single",
         "sectionId": "date"}
        for f in dashboard.filters
    ]


def dashcards(dashboard: Dashboard, card_ids: Mapping[str, int], existing: Mapping[int, int]) -> list[dict]:
    """The dashboard's `dashcards`: each card on the grid, its template tags wired to the filters.
    `existing` maps card id → dashcard id of cards already on the dashboard (others get negative ids)."""
    result, new_id = [], -1
    for card in dashboard.cards:
        card_id = card_ids[card.ref]
        if card_id in existing:
            dashcard_id = existing[card_id]
        else:
            dashcard_id, new_id = new_id, new_id - 1
        result.append({
            "id": dashcard_id, "card_id": card_id,
            "row": card.layout.row, "col": card.layout.col,
            "size_x": card.layout.width, "size_y": card.layout.height,
            "series": [], "visualization_settings": {},
            "parameter_mappings": [
                {"parameter_id": parameter_id(dashboard, dashboard.filter(slug)), "card_id": card_id,
                 "target": ["variable", ["template-tag", slug]]}
                for slug in card.tags
            ],
        })
    return result

