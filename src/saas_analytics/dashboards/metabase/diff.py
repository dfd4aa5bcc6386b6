"""Comparison of what Metabase holds with what the repository defines: which parts differ."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# Metabase answers GET /api/database/:id with this in place of every secret.
REDACTED = "**MetabasePass**"
# Connection details compared on every run; `ssl` only when it was set explicitly (METABASE_WAREHOUSE_SSL):
# Metabase stores ssl: true by itself when the server accepts TLS.
COMPARED_DETAILS = ("host", "port", "dbname", "user", "schema-filters-type", "schema-filters-patterns")


def _canonical(value: Any) -> Any:
    """JSON-normalised value (tuples → lists, keys as strings) for equality checks."""
    return json.loads(json.dumps(value, default=str))


def _covers(actual: Any, desired: Any) -> bool:
    """Whether `actual` holds everything in `desired` (maps compared key by key; extra keys allowed)."""
    if isinstance(desired, dict):
        return isinstance(actual, dict) and all(_covers(actual.get(k), v) for k, v in desired.items())
    if isinstance(desired, list):
        return isinstance(actual, list) and len(actual) == len(desired) and all(
            _covers(a, d) for a, d in zip(actual, desired, strict=True))
    return _canonical(actual) == _canonical(desired)


def native_query(dataset_query: Mapping[str, Any] | None) -> tuple[Any, str | None, dict]:
    """(database, sql, template-tags) of a native query, in the legacy shape or MBQL 5 (`stages`)."""
    query = dataset_query or {}
    if "stages" in query:
        stage = (query.get("stages") or [{}])[0]
        return query.get("database"), stage.get("native"), dict(stage.get("template-tags") or {})
    native = query.get("native") or {}
    return query.get("database"), native.get("query"), dict(native.get("template-tags") or {})


def card_differences(current: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
    """Which parts of a card differ from what the repository defines."""
    diffs = [k for k in ("name", "description", "display", "collection_id") if current.get(k) != desired[k]]
    if current.get("archived"):
        diffs.append("archived")
    if not _covers(current.get("visualization_settings") or {}, desired["visualization_settings"]):
        diffs.append("visualization_settings")
    database, sql_text, tags = native_query(current.get("dataset_query"))
    want = desired["dataset_query"]
    if database != want["database"]:
        diffs.append("database")
    if sql_text != want["native"]["query"]:
        diffs.append("sql")
    want_tags = want["native"]["template-tags"]
    if set(tags) != set(want_tags) or not all(_covers(tags[k], v) for k, v in want_tags.items()):
        diffs.append("template-tags")
    current_params = {p.get("id"): p for p in current.get("parameters") or []}
    if set(current_params) != {p["id"] for p in desired["parameters"]} or not all(
            _covers(current_params[p["id"]], p) for p in desired["parameters"]):
        diffs.append("parameters")
    return diffs


def _mapping_key(mapping: Mapping[str, Any]) -> tuple[str, str]:
    return str(mapping.get("parameter_id")), json.dumps(_canonical(mapping.get("target")))


def dashboard_differences(current: Mapping[str, Any], desired: Mapping[str, Any], wanted: list[dict]) -> list[str]:
    """Which parts of a dashboard (description, filters, cards and their layout) differ."""
    diffs = [k for k in ("description", "collection_id") if current.get(k) != desired[k]]
    current_params = {p.get("id"): p for p in current.get("parameters") or []}
    if set(current_params) != {p["id"] for p in desired["parameters"]} or not all(
            _covers(current_params[p["id"]], p) for p in desired["parameters"]):
        diffs.append("parameters")
    have = current.get("dashcards") or current.get("ordered_cards") or []
    if sorted(str(d.get("card_id")) for d in have) != sorted(str(d["card_id"]) for d in wanted):
        diffs.append("cards")
        return diffs
    by_card = {d.get("card_id"): d for d in have}
    for want in wanted:
        got = by_card[want["card_id"]]
        if any(got.get(k) != want[k] for k in ("row", "col", "size_x", "size_y")):
            diffs.append("layout")
            break
        if sorted(map(_mapping_key, got.get("parameter_mappings") or [])) != sorted(
                map(_mapping_key, want["parameter_mappings"])):
            diffs.append("filter wiring")
            break
    return diffs



def database_differences(have: Mapping[str, Any], details: Mapping[str, Any], ssl_explicit: bool) -> list[str]:
    """Which connection details of a Metabase database differ from ours (ssl only when we set it)."""
    keys = (*COMPARED_DETAILS, "ssl") if ssl_explicit else COMPARED_DETAILS
    return [k for k in keys if _canonical(have.get(k)) != _canonical(details[k])]
