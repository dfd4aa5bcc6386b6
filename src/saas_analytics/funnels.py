"""Funnels as code: read and validate `sql/funnels.yml`, load it into `core.funnel_steps`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import yaml

from saas_analytics.config import get_settings

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
FUNNEL_KEYS = {"name", "description", "window_days", "steps"}
STEP_KEYS = {"event", "where", "name"}


class FunnelDefinitionError(ValueError):
    """sql/funnels.yml is not a valid list of funnels; the message names the funnel and the key."""


@dataclass(frozen=True)
class FunnelStep:
    """One row of core.funnel_steps."""

    funnel: str
    step: int
    step_name: str
    event_name: str
    property_filters: dict[str, Any]
    window_days: int


def funnels_path() -> Path:
    """The funnel definitions file, next to the warehouse SQL."""
    return get_settings().sql_dir / "funnels.yml"


def _step_label(event: str, where: dict[str, Any]) -> str:
    """A readable default step name: the event and its filters."""
    if not where:
        return event
    return event + " (" + ", ".join(f"{key} = {value}" for key, value in where.items()) + ")"


def _parse_step(path: Path, funnel: str, number: int, spec: Any) -> tuple[str, str, dict[str, Any]]:
    """Validate one step; return (event, label, where)."""
    where_in = f"{path}: funnel {funnel!r}, step {number}"
    if not isinstance(spec, dict):
        raise FunnelDefinitionError(f"{where_in}: a step must be a mapping with an 'event' key")
    unknown = sorted(set(spec) - STEP_KEYS)
    if unknown:
        raise FunnelDefinitionError(f"{where_in}: unknown key {unknown[0]!r} (allowed: {sorted(STEP_KEYS)})")
    event = spec.get("event")
    if not isinstance(event, str) or not event:
        raise FunnelDefinitionError(f"{where_in}: key 'event' must be a non-empty event name")
    where = spec.get("where") or {}
    if not isinstance(where, dict) or not all(
        isinstance(key, str) and isinstance(value, str | int | float | bool) for key, value in where.items()
    ):
        raise FunnelDefinitionError(
            f"{where_in}: key 'where' must map property names to plain values, e.g. {{plan: trial}}")
    label = spec.get("name", _step_label(event, where))
    if not isinstance(label, str) or not label:
        raise FunnelDefinitionError(f"{where_in}: key 'name' must be a non-empty string")
    return event, label, where


def parse_funnels(text: str, path: Path) -> list[FunnelStep]:
    """Validate funnel definitions; raise FunnelDefinitionError naming the funnel and the bad key."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FunnelDefinitionError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("funnels"), list):
        raise FunnelDefinitionError(f"{path}: expected a top-level key 'funnels' holding a list of funnels")
    steps: list[FunnelStep] = []
    seen: set[str] = set()
    for index, spec in enumerate(doc["funnels"], start=1):
        if not isinstance(spec, dict):
            raise FunnelDefinitionError(f"{path}: funnel #{index} must be a mapping")
        name = spec.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise FunnelDefinitionError(
                f"{path}: funnel #{index}: key 'name' must be lowercase letters, digits and underscores")
        if name in seen:
            raise FunnelDefinitionError(f"{path}: funnel {name!r}: key 'name' is used twice")
        seen.add(name)
        unknown = sorted(set(spec) - FUNNEL_KEYS)
        if unknown:
            raise FunnelDefinitionError(
                f"{path}: funnel {name!r}: unknown key {unknown[0]!r} (allowed: {sorted(FUNNEL_KEYS)})")
        window = spec.get("window_days")
        if not isinstance(window, int) or isinstance(window, bool) or window <= 0:
            raise FunnelDefinitionError(f"{path}: funnel {name!r}: key 'window_days' must be a positive integer")
        raw_steps = spec.get("steps")
        if not isinstance(raw_steps, list) or len(raw_steps) < 2:
            raise FunnelDefinitionError(f"{path}: funnel {name!r}: key 'steps' must list at least two steps")
        for number, raw in enumerate(raw_steps, start=1):
            event, label, where = _parse_step(path, name, number, raw)
            steps.append(FunnelStep(name, number, label, event, where, window))
    return steps


def load_funnels(path: Path | None = None) -> list[FunnelStep]:
    """The validated steps of every funnel in sql/funnels.yml (or `path`)."""
    path = path or funnels_path()
    if not path.exists():
        raise FunnelDefinitionError(f"{path} is missing: it defines the funnels of analytics.funnel_conversion")
    return parse_funnels(path.read_text(), path)


def sync_funnel_steps(conn: psycopg.Connection, steps: list[FunnelStep]) -> int:
    """Replace core.funnel_steps with these steps in one transaction; return how many."""
    with conn.transaction():
        conn.execute("delete from core.funnel_steps")
        with conn.cursor() as cur:
            cur.executemany(
                "insert into core.funnel_steps (funnel, step, step_name, event_name, property_filters, window_days)"
                " values (%s, %s, %s, %s, %s::jsonb, %s)",
                [(s.funnel, s.step, s.step_name, s.event_name, json.dumps(s.property_filters), s.window_days)
                 for s in steps],
            )
    return len(steps)
