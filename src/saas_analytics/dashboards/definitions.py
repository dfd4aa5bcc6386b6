"""Dashboards as code: `sql/dashboards/<dashboard>.yml` + one `sql/dashboards/<dashboard>/<card>.sql` per card.

The same definitions feed the Metabase provisioner (`metabase.py`) and the offline HTML report (`report.py`).

Card SQL is Metabase native SQL: a filter is a `date` variable used inside an optional clause,

    where true
        [[and activity_date >= {{start_date}}::date]]
        [[and activity_date <= {{end_date}}::date]]

Metabase drops a `[[ … ]]` clause when its variable has no value; `render_sql` does the same for the
report and the tests (or fills it, as a bound query parameter, when a value is given).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

GRID_COLUMNS = 24  # Metabase's dashboard grid
DISPLAYS = ("line", "area", "bar", "row", "pie", "scalar", "table", "heatmap", "waterfall")
FORMATS = ("currency", "percent", "integer", "number", "seconds")
FILTER_TYPES = ("date",)

TAG = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")
OPTIONAL = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)
RELATION = re.compile(r"\b(?:from|join)\s+([a-z_][a-z0-9_]*)(?:\s*\.\s*([a-z_][a-z0-9_]*))?", re.IGNORECASE)
CTE_NAME = re.compile(r"\b([a-z_][a-z0-9_]*)\s+as\s*\(", re.IGNORECASE)
COMMENT_OR_STRING = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", re.DOTALL)
FROM_IN_FUNCTION = re.compile(r"\b(extract|substring|trim)\s*\(\s*[a-z_]*\s*from\b", re.IGNORECASE)
ALLOWED_SCHEMA = "analytics"


class DefinitionError(ValueError):
    """A dashboard definition is invalid; the message names the file."""


@dataclass(frozen=True)
class Layout:
    """Where a card sits on the 24-column dashboard grid (Metabase's row/col/size_x/size_y)."""

    row: int
    col: int
    width: int
    height: int


@dataclass(frozen=True)
class Filter:
    """A dashboard filter; cards use it as the template tag `{{slug}}`."""

    slug: str
    name: str
    type: str = "date"


@dataclass(frozen=True)
class Card:
    """One chart: its SQL (read from a file) and how to draw it."""

    dashboard_key: str
    key: str
    name: str
    description: str
    display: str
    sql: str
    sql_path: Path
    layout: Layout
    x: str | None = None
    y: tuple[str, ...] = ()
    y2: tuple[str, ...] = ()
    series: str | None = None
    value: str | None = None
    compare: str | None = None
    columns: tuple[str, ...] = ()
    stacked: bool = False
    formats: Mapping[str, str] = field(default_factory=dict)
    x_title: str | None = None
    y_title: str | None = None

    @property
    def ref(self) -> str:
        """`<dashboard>/<card>`, unique across all dashboards."""
        return f"{self.dashboard_key}/{self.key}"

    @property
    def tags(self) -> list[str]:
        """The template tags (filter slugs) this card's SQL uses, in order of first use."""
        return template_tags(self.sql)

    @property
    def required_columns(self) -> list[str]:
        """The result columns the visualization reads."""
        wanted = [self.x, *self.y, *self.y2, self.series, self.value, self.compare, *self.columns]
        return list(dict.fromkeys(c for c in wanted if c))


@dataclass(frozen=True)
class Dashboard:
    """One dashboard: filters and cards, from `sql/dashboards/<key>.yml`."""

    key: str
    name: str
    description: str
    order: int
    filters: tuple[Filter, ...]
    cards: tuple[Card, ...]
    path: Path

    def filter(self, slug: str) -> Filter:
        """The filter with this slug."""
        return next(f for f in self.filters if f.slug == slug)


def template_tags(sql_text: str) -> list[str]:
    """Names of the `{{tag}}` variables in a native query, in order of first use."""
    return list(dict.fromkeys(TAG.findall(sql_text)))


def render_sql(sql_text: str, values: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """Metabase's substitution for psycopg: keep `[[ … ]]` clauses whose variables all have values, drop
    the others, and turn each `{{tag}}` into a bound parameter. Returns (query, params)."""
    values = {k: v for k, v in (values or {}).items() if v is not None}

    def optional(match: re.Match) -> str:
        inner = match.group(1)
        return inner if all(tag in values for tag in TAG.findall(inner)) else ""

    text = OPTIONAL.sub(optional, sql_text).replace("%", "%%")
    missing = [tag for tag in TAG.findall(text) if tag not in values]
    if missing:
        raise DefinitionError(f"query needs a value for {{{{{missing[0]}}}}} (outside an optional [[ ]] clause)")
    return TAG.sub(lambda m: f"%({m.group(1)})s", text), {k: values[k] for k in template_tags(text)}


def referenced_relations(sql_text: str) -> list[tuple[str | None, str]]:
    """(schema, name) of every relation after `from`/`join`, except the query's own CTEs and functions."""
    found = []
    scanned = COMMENT_OR_STRING.sub(" ", sql_text).replace("[[", " ").replace("]]", " ")
    scanned = FROM_IN_FUNCTION.sub(lambda m: m.group(1) + "(", scanned)
    ctes = {name.lower() for name in CTE_NAME.findall(scanned)}
    for match in RELATION.finditer(scanned):
        first, second = match.group(1).lower(), match.group(2)
        if second is None:
            rest = scanned[match.end():].lstrip()
            if first in ctes or rest.startswith("("):  # a CTE or a set-returning function
                continue
            found.append((None, first))
        else:
            found.append((first, second.lower()))
    return found


def dashboards_dir() -> Path:
    """`sql/dashboards` of the project."""
    from saas_analytics.config import get_settings

    return get_settings().sql_dir / "dashboards"


def load_dashboards(root: Path | None = None) -> list[Dashboard]:
    """Read and validate every `<root>/*.yml` dashboard, ordered by their `order`."""
    root = root or dashboards_dir()
    paths = sorted(root.glob("*.yml"))
    if not paths:
        raise DefinitionError(f"no dashboard definitions (*.yml) in {root}")
    dashboards = [load_dashboard(path) for path in paths]
    names = [d.name for d in dashboards]
    if len(set(names)) != len(names):
        raise DefinitionError(f"dashboard names must be unique in {root}: {names}")
    return sorted(dashboards, key=lambda d: (d.order, d.name))


def _require(mapping: Mapping, key: str, where: str, kind: type | tuple[type, ...] = str) -> Any:
    value = mapping.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DefinitionError(f"{where}: `{key}` is required")
    if not isinstance(value, kind):
        raise DefinitionError(f"{where}: `{key}` must be {kind}")
    return value


def _columns(value: Any, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(c, str) and c for c in items):
        raise DefinitionError(f"{where}: `{key}` must be a column name or a list of them")
    return tuple(items)


def load_dashboard(path: Path) -> Dashboard:
    """Read one dashboard YAML and its card SQL files; raise DefinitionError on anything inconsistent."""
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(spec, dict):
        raise DefinitionError(f"{path}: expected a mapping at the top level")
    key = path.stem
    where = str(path)
    unknown = set(spec) - {"name", "description", "order", "filters", "cards"}
    if unknown:
        raise DefinitionError(f"{where}: unknown keys {sorted(unknown)}")
    filters = []
    for i, f in enumerate(spec.get("filters") or []):
        fwhere = f"{where}: filters[{i}]"
        slug = _require(f, "slug", fwhere)
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", slug):
            raise DefinitionError(f"{fwhere}: slug {slug!r} must be snake_case")
        ftype = f.get("type", "date")
        if ftype not in FILTER_TYPES:
            raise DefinitionError(f"{fwhere}: type {ftype!r} is not one of {FILTER_TYPES}")
        filters.append(Filter(slug=slug, name=_require(f, "name", fwhere), type=ftype))
    cards = [_load_card(path, key, i, c, {f.slug for f in filters}) for i, c in enumerate(spec.get("cards") or [])]
    if not cards:
        raise DefinitionError(f"{where}: a dashboard needs at least one card")
    dashboard = Dashboard(
        key=key, name=_require(spec, "name", where), description=str(spec.get("description") or "").strip(),
        order=int(spec.get("order", 100)), filters=tuple(filters), cards=tuple(cards), path=path,
    )
    _check_dashboard(dashboard)
    return dashboard


# `key` (default: the SQL file's name) names the card when several cards show columns of one query
CARD_KEYS = {"sql", "key", "name", "description", "display", "layout", "x", "y", "y2", "series", "value", "compare",
             "columns", "stacked", "format", "x_title", "y_title"}


def _load_card(path: Path, dashboard_key: str, index: int, spec: Any, filter_slugs: set[str]) -> Card:
    where = f"{path}: cards[{index}]"
    if not isinstance(spec, dict):
        raise DefinitionError(f"{where}: expected a mapping")
    unknown = set(spec) - CARD_KEYS
    if unknown:
        raise DefinitionError(f"{where}: unknown keys {sorted(unknown)}")
    sql_name = _require(spec, "sql", where)
    sql_path = path.parent / dashboard_key / sql_name
    if sql_path.suffix != ".sql" or sql_path.parent != path.parent / dashboard_key:
        raise DefinitionError(f"{where}: sql must be a .sql file name in {path.parent / dashboard_key}")
    if not sql_path.is_file():
        raise DefinitionError(f"{where}: {sql_path} does not exist")
    sql_text = sql_path.read_text().strip().rstrip(";").strip()
    where = f"{where} ({sql_path.name})"
    display = _require(spec, "display", where)
    if display not in DISPLAYS:
        raise DefinitionError(f"{where}: display {display!r} is not one of {DISPLAYS}")
    layout_spec = _require(spec, "layout", where, dict)
    try:
        layout = Layout(**{k: int(layout_spec[k]) for k in ("row", "col", "width", "height")})
    except (KeyError, TypeError, ValueError) as exc:
        raise DefinitionError(f"{where}: layout needs integer row, col, width, height") from exc
    formats = spec.get("format") or {}
    if not isinstance(formats, dict) or any(v not in FORMATS for v in formats.values()):
        raise DefinitionError(f"{where}: format maps columns to one of {FORMATS}")
    card = Card(
        dashboard_key=dashboard_key, key=str(spec.get("key") or sql_path.stem), name=_require(spec, "name", where),
        description=str(spec.get("description") or "").strip(), display=display, sql=sql_text,
        sql_path=sql_path, layout=layout,
        x=spec.get("x"), y=_columns(spec.get("y"), where, "y"), y2=_columns(spec.get("y2"), where, "y2"),
        series=spec.get("series"), value=spec.get("value"), compare=spec.get("compare"),
        columns=_columns(spec.get("columns"), where, "columns"), stacked=bool(spec.get("stacked", False)),
        formats=dict(formats), x_title=spec.get("x_title"), y_title=spec.get("y_title"),
    )
    _check_card(card, where, filter_slugs)
    return card


def _check_card(card: Card, where: str, filter_slugs: set[str]) -> None:
    """The fields each display needs, the tags the SQL uses, and the relations it reads."""
    needs = {
        "line": ("x", "y"), "area": ("x", "y"), "bar": ("x", "y"), "row": ("x", "y"), "pie": ("x", "y"),
        "scalar": ("value",), "table": ("columns",), "heatmap": ("x", "y", "value"), "waterfall": ("x", "y"),
    }[card.display]
    for name in needs:
        if not getattr(card, name):
            raise DefinitionError(f"{where}: display {card.display!r} needs `{name}`")
    if card.display in ("pie", "heatmap", "waterfall") and len(card.y) != 1:
        raise DefinitionError(f"{where}: display {card.display!r} takes exactly one `y` column")
    if card.series and (len(card.y) != 1 or card.y2):
        raise DefinitionError(f"{where}: with `series`, give exactly one `y` column and no `y2`")
    unknown_format = set(card.formats) - set(card.required_columns)
    if unknown_format:
        raise DefinitionError(f"{where}: format names columns the card does not show: {sorted(unknown_format)}")
    stray = [t for t in card.tags if t not in filter_slugs]
    if stray:
        raise DefinitionError(f"{where}: {{{{{stray[0]}}}}} is not a filter of this dashboard")
    for inner in OPTIONAL.findall(card.sql):
        if not TAG.search(inner):
            raise DefinitionError(f"{where}: an optional [[ ]] clause without a {{{{variable}}}}")
    try:
        render_sql(card.sql)
    except DefinitionError as exc:
        raise DefinitionError(f"{where}: {exc}") from exc
    for schema, name in referenced_relations(card.sql):
        if schema != ALLOWED_SCHEMA:
            shown = f"{schema}.{name}" if schema else name
            raise DefinitionError(f"{where}: reads {shown}; cards may read only schema-qualified analytics objects")


def _check_dashboard(dashboard: Dashboard) -> None:
    """Unique card names and files, the grid, and filters that are used."""
    where = str(dashboard.path)
    for attr in ("name", "key"):
        values = [getattr(c, attr) for c in dashboard.cards]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise DefinitionError(f"{where}: card {attr}s must be unique: {dupes}")
    cells: dict[tuple[int, int], str] = {}
    for card in dashboard.cards:
        lay = card.layout
        if lay.row < 0 or lay.col < 0 or lay.width < 1 or lay.height < 1 or lay.col + lay.width > GRID_COLUMNS:
            raise DefinitionError(f"{where}: card {card.key} lies outside the {GRID_COLUMNS}-column grid: {lay}")
        for r in range(lay.row, lay.row + lay.height):
            for c in range(lay.col, lay.col + lay.width):
                if (r, c) in cells:
                    raise DefinitionError(f"{where}: cards {cells[(r, c)]} and {card.key} overlap at row {r}, col {c}")
                cells[(r, c)] = card.key
    used = {t for card in dashboard.cards for t in card.tags}
    unused = [f.slug for f in dashboard.filters if f.slug not in used]
    if unused:
        raise DefinitionError(f"{where}: filter {unused[0]!r} is used by no card")
    on_disk = {p.name for p in (dashboard.path.parent / dashboard.key).glob("*.sql")}
    orphans = sorted(on_disk - {c.sql_path.name for c in dashboard.cards})
    if orphans:
        raise DefinitionError(f"{where}: {dashboard.key}/{orphans[0]} is not used by any card")
