"""The provisioner: makes Metabase match the dashboard definitions (the steps: see the package docstring)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from saas_analytics.dashboards.definitions import Card, Dashboard
from saas_analytics.dashboards.metabase.client import MetabaseClient, MetabaseError, _data
from saas_analytics.dashboards.metabase.config import PASSWORD_RULE, MetabaseConfig, password_problems
from saas_analytics.dashboards.metabase.diff import card_differences, dashboard_differences, database_differences
from saas_analytics.dashboards.metabase.payloads import (
    card_body,
    dashboard_parameters,
    dashcards,
    describe,
    is_managed,
    source_of,
)

log = logging.getLogger(__name__)


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
            self.result.dashboard_ids[dashboard.key] = self.ensure_dashboard(dashboard, root_id, card_ids)
            # only after the dashboard no longer shows them: Metabase hides (never removes) dashcards of archived cards
            self.archive_leftovers(sub_id, "card", {c.name for c in dashboard.cards})
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
            if problems := password_problems(cfg.admin_password):
                raise MetabaseError(f"METABASE_ADMIN_PASSWORD would be refused by Metabase's setup: "
                                    f"{' and '.join(problems)} ({PASSWORD_RULE}); choose another and run again")
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
        ssl_explicit = cfg.warehouse.ssl is not None
        differs = database_differences(have, details, ssl_explicit)
        if not ssl_explicit and "ssl" in have:  # keep what Metabase found out about TLS
            details = details | {"ssl": have["ssl"]}
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

