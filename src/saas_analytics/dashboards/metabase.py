"""Provision Metabase from the dashboard definitions through its REST API (open-source edition, v0.47+).

What `saas-analytics metabase provision` does, in order:

1. `GET /api/health`; then authenticates: an API key (`x-api-key`), or the admin's email and password
   (`POST /api/session`); on a fresh Metabase it first creates that admin (`GET /api/session/properties`
   for the setup token, `POST /api/setup`).
2. The warehouse connection: a Postgres database found by name, connected as the read-only role
   (`POST /api/database`; `PUT /api/database/:id` when host, port, database or user differ).
3. Collections: one top-level collection, one sub-collection per dashboard for its cards.
4. Cards: native SQL questions with `date` template tags (`POST /api/card`, or `PUT /api/card/:id` when
   the SQL, visualization or description differ).
5. Dashboards: `POST /api/dashboard`, then `PUT /api/dashboard/:id` with the filters (`parameters`) and the
   whole `dashcards` list (new ones with negative ids) wired to the cards' template tags.

Everything it manages carries MANAGED_MARKER in its description and is found by name; items with the
same name but without the marker are never touched (the run stops and says so). A second run with
nothing changed sends only GETs (plus the login). Cards and dashboards removed from the repository are
archived, not deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from saas_analytics.dashboards.definitions import GRID_COLUMNS, Card, Dashboard, Filter

log = logging.getLogger(__name__)

MANAGED_MARKER = "[managed by saas-analytics]"
TAG_NAMESPACE = uuid.UUID("5b0f6d2e-0c1f-4d8e-9a53-2f7d0c9b6a11")
DEFAULT_DATABASE_NAME = "SaaS analytics warehouse"
DEFAULT_COLLECTION_NAME = "SaaS Analytics"
# Metabase answers GET /api/database/:id with this in place of every secret.
REDACTED = "**MetabasePass**"
COMPARED_DETAILS = ("host", "port", "dbname", "user", "ssl", "schema-filters-type", "schema-filters-patterns")


class MetabaseError(RuntimeError):
    """Metabase is unreachable, refused a request, or holds something we must not overwrite."""


# --------------------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class WarehouseConnection:
    """How Metabase reaches the warehouse (host/port as Metabase sees it), as the read-only role."""

    host: str
    port: int
    dbname: str
    user: str
    password: str = field(repr=False)
    ssl: bool = False

    def details(self) -> dict[str, Any]:
        """Metabase's `details` for the postgres engine: only schema `analytics` is synced."""
        return {
            "host": self.host, "port": self.port, "dbname": self.dbname, "user": self.user,
            "password": self.password, "ssl": self.ssl,
            "schema-filters-type": "inclusion", "schema-filters-patterns": "analytics",
        }


@dataclass(frozen=True)
class MetabaseConfig:
    """Everything the provisioner needs; `from_env()` reads it from the settings and the environment."""

    url: str
    warehouse: WarehouseConnection
    api_key: str | None = field(default=None, repr=False)
    admin_email: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    database_name: str = DEFAULT_DATABASE_NAME
    collection_name: str = DEFAULT_COLLECTION_NAME
    site_name: str = "SaaS Analytics"
    timeout: float = 30.0

    @classmethod
    def from_env(cls, settings=None, environ: Mapping[str, str] | None = None) -> MetabaseConfig:
        """METABASE_* settings, the reader role, and where Metabase finds the warehouse:
        METABASE_WAREHOUSE_HOST/PORT/DBNAME (default: DATABASE_URL's host, port and database)."""
        from psycopg.conninfo import conninfo_to_dict

        from saas_analytics.config import get_settings

        settings = settings or get_settings()
        env = os.environ if environ is None else environ
        if not settings.metabase_url:
            raise ValueError("METABASE_URL is not set (e.g. http://localhost:3000); see docs/dashboards.md")
        url_params = conninfo_to_dict(settings.database_url) if settings.database_url else {}
        url_host = str(url_params.get("host") or "")
        host = env.get("METABASE_WAREHOUSE_HOST") or ("" if url_host.startswith("/") else url_host)
        if not host:
            raise ValueError(
                "set METABASE_WAREHOUSE_HOST: the warehouse's host name as Metabase sees it (in the compose "
                "stack: postgres); the embedded warehouse listens on a Unix socket Metabase cannot reach"
            )
        port = env.get("METABASE_WAREHOUSE_PORT") or url_params.get("port") or "5432"
        dbname = env.get("METABASE_WAREHOUSE_DBNAME") or url_params.get("dbname") or settings.warehouse_db
        if not settings.reader_password:
            raise ValueError(f"ANALYTICS_READER_PASSWORD is not set: Metabase connects as {settings.reader_role}")
        try:
            port_number = int(port)
        except ValueError as exc:
            raise ValueError(f"METABASE_WAREHOUSE_PORT must be a number, not {port!r}") from exc
        return cls(
            url=settings.metabase_url.rstrip("/"),
            warehouse=WarehouseConnection(
                host=host, port=port_number, dbname=str(dbname), user=settings.reader_role,
                password=settings.reader_password,
                ssl=env.get("METABASE_WAREHOUSE_SSL", "").lower() in {"1", "true", "yes"},
            ),
            api_key=settings.metabase_api_key, admin_email=settings.metabase_admin_email,
            admin_password=settings.metabase_admin_password,
            database_name=env.get("METABASE_DATABASE_NAME") or DEFAULT_DATABASE_NAME,
            collection_name=env.get("METABASE_COLLECTION") or DEFAULT_COLLECTION_NAME,
        )


# --------------------------------------------------------------------------------------------------
# HTTP


def _error_text(response: httpx.Response) -> str:
    """Metabase's explanation of a refusal, on one short line."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return " ".join(text.split())[:300] or response.reason_phrase
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("message", "error") if body.get(k)]
        if isinstance(body.get("errors"), dict):
            parts += [f"{k}: {v}" for k, v in body["errors"].items()]
        if parts:
            return " ".join("; ".join(parts).split())[:300]
    return " ".join(json.dumps(body).split())[:300]


class MetabaseClient:
    """A thin JSON client that turns transport errors and refusals into one-line MetabaseErrors."""

    def __init__(self, url: str, timeout: float = 30.0, transport: httpx.BaseTransport | None = None):
        from saas_analytics import __version__

        self.url = url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.url, timeout=timeout, transport=transport,
            headers={"Accept": "application/json", "User-Agent": f"saas-analytics/{__version__}"},
        )
        self.requests: list[tuple[str, str]] = []

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def set_header(self, name: str, value: str) -> None:
        """Send this header (session or API key) with every further request."""
        self.http.headers[name] = value

    def request(self, method: str, path: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        """Send one request; return the decoded JSON (None for an empty body)."""
        self.requests.append((method, path))
        try:
            response = self.http.request(method, path, json=body, params=params)
        except httpx.TimeoutException as exc:
            raise MetabaseError(f"Metabase at {self.url} did not answer {method} {path} in time ({exc})") from exc
        except httpx.TransportError as exc:
            raise MetabaseError(
                f"Metabase at {self.url} is unreachable ({exc.__class__.__name__}: {exc}); "
                "is it running, and is METABASE_URL right?"
            ) from exc
        if response.status_code >= 400:
            raise MetabaseError(
                f"Metabase refused {method} {path}: HTTP {response.status_code} {_error_text(response)}"
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise MetabaseError(
                f"Metabase answered {method} {path} with something that is not JSON "
                f"({response.headers.get('content-type', '?')}): is {self.url} really Metabase?"
            ) from exc

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET."""
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any) -> Any:
        """POST a JSON body."""
        return self.request("POST", path, body)

    def put(self, path: str, body: Any) -> Any:
        """PUT a JSON body."""
        return self.request("PUT", path, body)


def _data(payload: Any) -> list[dict]:
    """List endpoints answer either a bare list or `{"data": [...], "total": n}`."""
    if isinstance(payload, dict):
        payload = payload.get("data", [])
    return list(payload or [])


# --------------------------------------------------------------------------------------------------
# desired state, built from the definitions


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


# --------------------------------------------------------------------------------------------------
# comparison of desired and current state


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


# --------------------------------------------------------------------------------------------------
# the provisioner


@dataclass
class Change:
    """One thing the run did (or found unchanged)."""

    kind: str
    name: str
    action: str
    detail: str = ""


@dataclass
class ProvisionResult:
    """What a run did; `changed` is False when Metabase already matched the repository."""

    changes: list[Change] = field(default_factory=list)
    database_id: int | None = None
    collection_id: int | None = None
    card_ids: dict[str, int] = field(default_factory=dict)
    dashboard_ids: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """Whether anything was created, updated or archived."""
        return any(c.action != "unchanged" for c in self.changes)

    def count(self, action: str, kind: str | None = None) -> int:
        """How many changes of this action (and kind)."""
        return sum(1 for c in self.changes if c.action == action and (kind is None or c.kind == kind))

    def summary(self) -> str:
        """One line: counts per action."""
        parts = [f"{self.count(a)} {a}" for a in ("created", "updated", "archived", "unchanged") if self.count(a)]
        return ", ".join(parts) or "nothing to do"


class Provisioner:
    """Makes Metabase match the dashboard definitions; see the module docstring for the steps."""

    def __init__(self, config: MetabaseConfig, dashboards: list[Dashboard], client: MetabaseClient | None = None,
                 progress: Callable[[str], None] | None = None):
        self.config = config
        self.dashboards = dashboards
        self.client = client or MetabaseClient(config.url, config.timeout)
        self.say = progress or log.info
        self.result = ProvisionResult()

    # -- steps ------------------------------------------------------------------------------------

    def run(self, wait: float = 0, update_credentials: bool = False, check_connection: bool = False) -> ProvisionResult:
        """Provision everything; raise MetabaseError on the first refusal."""
        self.wait_until_healthy(wait)
        self.authenticate()
        database_id = self.ensure_database(update_credentials)
        if check_connection:
            self.check_connection(database_id)
        root_id = self.ensure_collection(self.config.collection_name, None, "the dashboards of the SaaS analytics "
                                         "warehouse, provisioned from sql/dashboards")
        self.result.collection_id = root_id
        for dashboard in self.dashboards:
            sub_id = self.ensure_collection(dashboard.name, root_id, f"the cards of the {dashboard.name} dashboard")
            card_ids = {card.ref: self.ensure_card(dashboard, card, database_id, sub_id) for card in dashboard.cards}
            self.result.card_ids.update(card_ids)
            self.archive_leftovers(sub_id, "card", {c.name for c in dashboard.cards})
            self.result.dashboard_ids[dashboard.key] = self.ensure_dashboard(dashboard, root_id, card_ids)
        self.archive_leftovers(root_id, "dashboard", {d.name for d in self.dashboards})
        self.archive_leftovers(root_id, "collection", {d.name for d in self.dashboards})
        return self.result

    def wait_until_healthy(self, wait: float) -> None:
        """`GET /api/health` until it says ok (or `wait` seconds have passed)."""
        deadline = time.monotonic() + max(wait, 0)
        while True:
            try:
                health = self.client.get("/api/health")
                if isinstance(health, dict) and health.get("status") == "ok":
                    return
                problem = MetabaseError(f"Metabase at {self.config.url} is not ready yet: /api/health says {health}")
            except MetabaseError as exc:
                problem = exc
            if time.monotonic() >= deadline:
                raise problem
            time.sleep(2)

    def authenticate(self) -> None:
        """API key, or the admin login (creating the admin on a Metabase that has never been set up)."""
        cfg = self.config
        if cfg.api_key:
            self.client.set_header("x-api-key", cfg.api_key)
            self._check_admin("the API key in METABASE_API_KEY")
            return
        properties = self.client.get("/api/session/properties") or {}
        if not (cfg.admin_email and cfg.admin_password):
            raise MetabaseError("set METABASE_API_KEY, or METABASE_ADMIN_EMAIL and METABASE_ADMIN_PASSWORD")
        token = properties.get("setup-token")
        if token and not properties.get("has-user-setup"):
            self.say(f"metabase: first run, creating the admin {cfg.admin_email}")
            session = self.client.post("/api/setup", {
                "token": token,
                "user": {"email": cfg.admin_email, "password": cfg.admin_password, "first_name": "SaaS",
                         "last_name": "Analytics Admin"},
                "prefs": {"site_name": cfg.site_name, "site_locale": "en"},
            })
            self.result.changes.append(Change("metabase", cfg.url, "created", "first admin"))
        else:
            try:
                session = self.client.post("/api/session",
                                           {"username": cfg.admin_email, "password": cfg.admin_password})
            except MetabaseError as exc:
                raise MetabaseError(f"Metabase refused the login of {cfg.admin_email} (METABASE_ADMIN_EMAIL / "
                                    f"METABASE_ADMIN_PASSWORD): {exc}") from exc
        if not isinstance(session, dict) or not session.get("id"):
            raise MetabaseError(f"Metabase did not return a session id: {session!r}")
        self.client.set_header("X-Metabase-Session", str(session["id"]))
        self._check_admin(cfg.admin_email or "the admin")

    def _check_admin(self, who: str) -> None:
        user = self.client.get("/api/user/current") or {}
        if not user.get("is_superuser"):
            raise MetabaseError(f"{who} is not a Metabase admin; provisioning needs an admin (is_superuser)")

    def ensure_database(self, update_credentials: bool = False) -> int:
        """The warehouse connection (found by name), as the read-only role; returns its id."""
        cfg, details = self.config, self.config.warehouse.details()
        matches = [d for d in _data(self.client.get("/api/database")) if d.get("name") == cfg.database_name]
        if not matches:
            created = self.client.post("/api/database", {
                "engine": "postgres", "name": cfg.database_name, "details": details,
                "is_full_sync": True, "is_on_demand": False, "auto_run_queries": True,
            })
            database_id = int(created["id"])
            self.client.put(f"/api/database/{database_id}", {"description": describe(
                f"The warehouse's analytics schema, read as {cfg.warehouse.user} (read-only).", "the environment")})
            self._record("database", cfg.database_name, "created",
                         f"{cfg.warehouse.user}@{cfg.warehouse.host}:{cfg.warehouse.port}/{cfg.warehouse.dbname}")
            self.result.database_id = database_id
            return database_id
        database_id = int(matches[0]["id"])
        current = self.client.get(f"/api/database/{database_id}") or {}
        if current.get("engine") != "postgres":
            raise MetabaseError(f"Metabase database {cfg.database_name!r} (id {database_id}) uses engine "
                                f"{current.get('engine')!r}, not postgres: rename it or set METABASE_DATABASE_NAME")
        have = current.get("details") or {}
        differs = [k for k in COMPARED_DETAILS if _canonical(have.get(k)) != _canonical(details[k])]
        if not is_managed(current):
            differs.append("description")
        if differs or update_credentials:
            body = {"engine": "postgres", "name": cfg.database_name, "details": details,
                    "description": describe(f"The warehouse's analytics schema, read as {cfg.warehouse.user} "
                                            "(read-only).", "the environment")}
            self.client.put(f"/api/database/{database_id}", body)
            self.client.post(f"/api/database/{database_id}/sync_schema", {})
            self._record("database", cfg.database_name, "updated", ", ".join(differs) or "credentials")
        else:
            self._record("database", cfg.database_name, "unchanged")
        self.result.database_id = database_id
        return database_id

    def check_connection(self, database_id: int) -> None:
        """Run `select 1` through Metabase: proves it can query the warehouse as the reader."""
        answer = self.client.post("/api/dataset", {
            "database": database_id, "type": "native", "native": {"query": "select 1 as ok", "template-tags": {}},
        }) or {}
        if answer.get("status") != "completed":
            raise MetabaseError(f"Metabase cannot query the warehouse as {self.config.warehouse.user}: "
                                f"{answer.get('error') or answer.get('status')}; check METABASE_WAREHOUSE_* and "
                                "ANALYTICS_READER_PASSWORD (then run with --update-credentials)")
        self.say("metabase: connection check passed (select 1 as the reader role)")

    def ensure_collection(self, name: str, parent_id: int | None, purpose: str) -> int:
        """A managed collection with this name under `parent_id` (None: top level); returns its id."""
        location = f"/{parent_id}/" if parent_id else "/"
        description = describe(f"Holds {purpose}.", "sql/dashboards")
        matches = [c for c in _data(self.client.get("/api/collection"))
                   if c.get("name") == name and c.get("location") == location and not c.get("archived")
                   and isinstance(c.get("id"), int) and not c.get("personal_owner_id")]
        if not matches:
            body: dict[str, Any] = {"name": name, "description": description}
            if parent_id:
                body["parent_id"] = parent_id
            created = self.client.post("/api/collection", body)
            self._record("collection", name, "created")
            return int(created["id"])
        collection = matches[0]
        if not is_managed(collection):
            raise MetabaseError(f"a Metabase collection named {name!r} (id {collection['id']}) exists but is not "
                                f"managed by saas-analytics; rename it (or set METABASE_COLLECTION) and run again")
        if collection.get("description") != description:
            self.client.put(f"/api/collection/{collection['id']}", {"description": description})
            self._record("collection", name, "updated", "description")
        else:
            self._record("collection", name, "unchanged")
        return int(collection["id"])

    def _items(self, collection_id: int, model: str) -> list[dict]:
        return [i for i in _data(self.client.get(f"/api/collection/{collection_id}/items", {"models": model}))
                if i.get("model", model) == model]

    def _managed(self, model: str, item: dict) -> bool:
        """Whether a collection item carries the marker (fetching the item if the listing omits descriptions)."""
        if "description" not in item:
            item = self.client.get(f"/api/{model}/{item['id']}") or {}
        return is_managed(item)

    def _find(self, collection_id: int, model: str, name: str) -> dict | None:
        matches = [i for i in self._items(collection_id, model) if i.get("name") == name]
        if not matches:
            return None
        managed = [i for i in matches if self._managed(model, i)]
        if not managed:
            raise MetabaseError(f"a Metabase {model} named {name!r} (id {matches[0]['id']}) in the managed collection "
                                "is not managed by saas-analytics; rename or move it and run again")
        return managed[0]

    def ensure_card(self, dashboard: Dashboard, card: Card, database_id: int, collection_id: int) -> int:
        """Create the card, or update it in place when anything differs; returns its id."""
        body = card_body(dashboard, card, database_id, collection_id)
        label = f"{dashboard.name} / {card.name}"
        found = self._find(collection_id, "card", card.name)
        if found is None:
            created = self.client.post("/api/card", body)
            self._record("card", label, "created")
            return int(created["id"])
        card_id = int(found["id"])
        diffs = card_differences(self.client.get(f"/api/card/{card_id}") or {}, body)
        if diffs:
            self.client.put(f"/api/card/{card_id}", body | {"archived": False})
            self._record("card", label, "updated", ", ".join(diffs))
        else:
            self._record("card", label, "unchanged")
        return card_id

    def ensure_dashboard(self, dashboard: Dashboard, collection_id: int, card_ids: Mapping[str, int]) -> int:
        """Create the dashboard if needed, then place the cards and filters when anything differs."""
        desired = {"name": dashboard.name, "collection_id": collection_id,
                   "description": describe(dashboard.description, source_of(dashboard)),
                   "parameters": dashboard_parameters(dashboard)}
        found = self._find(collection_id, "dashboard", dashboard.name)
        if found is None:
            created = self.client.post("/api/dashboard", desired)
            dashboard_id, current, action = int(created["id"]), created, "created"
        else:
            dashboard_id, action = int(found["id"]), "updated"
            current = self.client.get(f"/api/dashboard/{dashboard_id}") or {}
        have = current.get("dashcards") or current.get("ordered_cards") or []
        existing = {d["card_id"]: d["id"] for d in have if d.get("card_id") is not None and d.get("id") is not None}
        wanted = dashcards(dashboard, card_ids, existing)
        diffs = dashboard_differences(current, desired, wanted)
        if diffs:
            self.client.put(f"/api/dashboard/{dashboard_id}", {
                "description": desired["description"], "collection_id": collection_id,
                "parameters": desired["parameters"], "dashcards": wanted,
            })
        if action == "created":
            self._record("dashboard", dashboard.name, "created", f"{len(wanted)} cards")
        else:
            self._record("dashboard", dashboard.name, "updated" if diffs else "unchanged", ", ".join(diffs))
        return dashboard_id

    def archive_leftovers(self, collection_id: int, model: str, keep: Iterable[str]) -> None:
        """Archive managed items of this kind that the repository no longer defines."""
        keep = set(keep)
        for item in self._items(collection_id, model):
            if item.get("name") not in keep and self._managed(model, item):
                self.client.put(f"/api/{model}/{item['id']}", {"archived": True})
                self._record(model, str(item.get("name")), "archived", "no longer in sql/dashboards")

    def _record(self, kind: str, name: str, action: str, detail: str = "") -> None:
        self.result.changes.append(Change(kind, name, action, detail))
        if action != "unchanged":
            self.say(f"metabase: {kind} {name!r} {action}" + (f" ({detail})" if detail else ""))


def provision(config: MetabaseConfig, dashboards: list[Dashboard] | None = None,
              progress: Callable[[str], None] | None = None, wait: float = 0, update_credentials: bool = False,
              check_connection: bool = False, transport: httpx.BaseTransport | None = None) -> ProvisionResult:
    """Provision Metabase from the definitions in `sql/dashboards` (or the given ones)."""
    from saas_analytics.dashboards.definitions import load_dashboards

    dashboards = dashboards if dashboards is not None else load_dashboards()
    client = MetabaseClient(config.url, config.timeout, transport=transport)
    try:
        provisioner = Provisioner(config, dashboards, client, progress)
        return provisioner.run(wait=wait, update_credentials=update_credentials, check_connection=check_connection)
    finally:
        client.close()


__all__ = [
    "GRID_COLUMNS", "MANAGED_MARKER", "MetabaseClient", "MetabaseConfig", "MetabaseError", "ProvisionResult",
    "Provisioner", "WarehouseConnection", "provision",
]
