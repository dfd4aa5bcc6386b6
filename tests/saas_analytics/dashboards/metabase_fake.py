"""A stateful stand-in for Metabase's REST API, on 127.0.0.1, that records every request the provisioner
sends and checks it against the documented shapes (metabase_api_schemas). It stores what a real Metabase
would (databases, collections, cards, dashboards with dashcards) and answers in Metabase's shapes
(`{"data": [...]}` lists, redacted passwords, `X-Metabase-Session`, 401 "Unauthenticated"), so the
provisioner's idempotency and in-place updates can be tested without Java.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from metabase_api_schemas import (
    COLLECTION_ITEM_MODELS,
    card_parameter_problems,
    dashcard_problems,
    native_problems,
    parameter_list_problems,
    schema_problems,
)

REDACTED = "**MetabasePass**"
OPEN_ENDPOINTS = {("GET", "/api/health"), ("GET", "/api/session/properties"), ("POST", "/api/setup"),
                  ("POST", "/api/session")}


@dataclass
class Request:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]

    @property
    def is_write(self) -> bool:
        """Anything but a GET."""
        return self.method != "GET"


class FakeError(Exception):
    """An HTTP error answer."""

    def __init__(self, status: int, body: Any):
        super().__init__(status)
        self.status, self.body = status, body


# Metabase's default password rule ("normal"): 6+ characters, a digit, not a common password
COMMON_PASSWORDS = {"password1", "passw0rd", "qwerty123", "123456", "12345678", "abc123", "admin123"}


def password_is_normal(password: str) -> bool:
    """Whether Metabase's default complexity check accepts the password."""
    return len(password) >= 6 and any(c.isdigit() for c in password) and password.lower() not in COMMON_PASSWORDS


@dataclass
class FakeMetabase:
    """The server and its state; use as a context manager (`with FakeMetabase() as mb: mb.url`)."""

    admin_email: str = "admin@example.com"
    admin_password: str = "S3cure-admin-passphrase"
    is_setup: bool = False
    admin_is_superuser: bool = True
    api_keys: set[str] = field(default_factory=set)
    mbql5: bool = False  # answer dataset_query in the MBQL 5 shape of Metabase 57+
    terse_items: bool = False  # collection items without descriptions
    warehouse_password: str | None = None  # what the warehouse accepts (for POST /api/dataset)
    # like Metabase when the warehouse accepts TLS: a saved connection without ssl gets ssl: true
    warehouse_accepts_tls: bool = False
    fail: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)  # (method, path) → answer

    def __post_init__(self) -> None:
        self.setup_token = str(uuid.uuid4())
        self.sessions: set[str] = set()
        self.requests: list[Request] = []
        self.violations: list[str] = []
        self.databases: dict[int, dict] = {}
        self.collections: dict[int, dict] = {}
        self.cards: dict[int, dict] = {}
        self.dashboards: dict[int, dict] = {}
        self._ids = {"database": 0, "collection": 0, "card": 0, "dashboard": 0, "dashcard": 0}
        self._lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> FakeMetabase:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body = fake.handle(method, self.path, raw, {k.lower(): v for k, v in self.headers.items()})
                payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

            def do_PUT(self) -> None:  # noqa: N802
                self._handle("PUT")

            def do_DELETE(self) -> None:  # noqa: N802
                self._handle("DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        """Base URL of the fake."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- inspection -------------------------------------------------------------------------------

    def writes(self, since: int = 0) -> list[tuple[str, str]]:
        """(method, path) of every non-GET request from request number `since` on."""
        return [(r.method, r.path) for r in self.requests[since:] if r.is_write]

    def live(self, kind: str) -> dict[int, dict]:
        """Stored objects of a kind that are not archived."""
        store = {"card": self.cards, "dashboard": self.dashboards, "collection": self.collections}[kind]
        return {i: o for i, o in store.items() if not o.get("archived")}

    # -- dispatch ---------------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        parsed = urlparse(raw_path)
        path, query = parsed.path.rstrip("/") or "/", parse_qs(parsed.query)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with self._lock:
            self.requests.append(Request(method, path, query, body, headers))
            problems = schema_problems(method, path, body)
            if not problems and path.endswith("/items"):
                problems = [f"unknown collection item model {m!r}" for m in query.get("models", [])
                            if m not in COLLECTION_ITEM_MODELS]
            if problems:
                self.violations.extend(problems)
                return 400, {"message": "; ".join(problems)}
            if (method, path) in self.fail:
                return self.fail[(method, path)]
            if (method, path) not in OPEN_ENDPOINTS and not self._authenticated(headers):
                return 401, "Unauthenticated"
            try:
                return 200, self.route(method, path, query, body)
            except FakeError as exc:
                return exc.status, exc.body

    def _authenticated(self, headers: dict[str, str]) -> bool:
        return headers.get("x-metabase-session") in self.sessions or headers.get("x-api-key") in self.api_keys

    def _violation(self, problems: list[str]) -> None:
        if problems:
            self.violations.extend(problems)
            raise FakeError(400, {"message": "; ".join(problems)})

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def route(self, method: str, path: str, query: dict, body: Any) -> Any:
        parts = path.strip("/").split("/")[1:]  # drop "api"
        head = parts[0]
        if (method, path) == ("GET", "/api/health"):
            return {"status": "ok"}
        if (method, path) == ("GET", "/api/session/properties"):
            return {"setup-token": None if self.is_setup else self.setup_token, "has-user-setup": self.is_setup,
                    "version": {"tag": "v0.56.9"}, "site-name": "Metabase"}
        if (method, path) == ("POST", "/api/setup"):
            if self.is_setup:
                raise FakeError(403, {"message": "The /api/setup route can only be used to create the first user, "
                                                 "however a user currently exists."})
            if body["token"] != self.setup_token:
                raise FakeError(400, {"errors": {"token": "Token does not match the setup token."}})
            if not password_is_normal(body["user"]["password"]):
                raise FakeError(400, {"errors": {"password": "Insufficient password strength"}})
            self.is_setup = True
            self.admin_email, self.admin_password = body["user"]["email"], body["user"]["password"]
            return {"id": self._new_session()}
        if (method, path) == ("POST", "/api/session"):
            if not self.is_setup or body["username"] != self.admin_email or body["password"] != self.admin_password:
                raise FakeError(401, {"errors": {"password": "did not match stored password"}})
            return {"id": self._new_session()}
        if (method, path) == ("GET", "/api/user/current"):
            return {"id": 1, "email": self.admin_email, "is_superuser": self.admin_is_superuser}
        handler = getattr(self, f"_{head}", None)
        if handler is None:
            raise FakeError(404, "API endpoint does not exist.")
        return handler(method, parts[1:], query, body)

    def _new_session(self) -> str:
        session = secrets.token_hex(16)
        self.sessions.add(session)
        return session

    # -- databases --------------------------------------------------------------------------------

    def _redacted(self, database: dict) -> dict:
        shown = copy.deepcopy(database)
        if "password" in shown["details"]:
            shown["details"]["password"] = REDACTED
        return shown

    def _database(self, method: str, rest: list[str], query: dict, body: Any) -> Any:
        if not rest and method == "GET":
            return {"data": [self._redacted(d) for d in self.databases.values()], "total": len(self.databases)}
        if not rest and method == "POST":
            self._check_warehouse(body["details"])
            database_id = self._next("database")
            self.databases[database_id] = {"id": database_id, "name": body["name"], "engine": body["engine"],
                                           "details": self._with_tls(body["details"]), "description": None,
                                           "is_full_sync": body.get("is_full_sync", True)}
            return self._redacted(self.databases[database_id])
        database = self.databases.get(int(rest[0]))
        if database is None:
            raise FakeError(404, "Not found.")
        if len(rest) == 2 and rest[1] == "sync_schema":
            return {"status": "ok"}
        if method == "GET":
            return self._redacted(database)
        if method == "PUT":
            if "details" in body:
                details = copy.deepcopy(body["details"])
                if details.get("password") == REDACTED:
                    details["password"] = database["details"].get("password")
                self._check_warehouse(details)
                database["details"] = self._with_tls(details)
            database.update({k: v for k, v in body.items() if k != "details"})
            return self._redacted(database)
        raise FakeError(405, "Method not allowed.")

    def _with_tls(self, details: dict) -> dict:
        """The details as Metabase stores them: ssl switched on when the warehouse accepts TLS."""
        stored = copy.deepcopy(details)
        if self.warehouse_accepts_tls and not stored.get("ssl"):
            stored["ssl"] = True
        return stored

    def _check_warehouse(self, details: dict) -> None:
        """Like Metabase, refuse details it cannot connect with (here: a wrong reader password)."""
        if self.warehouse_password is not None and details.get("password") != self.warehouse_password:
            raise FakeError(400, {"message": 'FATAL: password authentication failed for user "analytics_reader"',
                                  "errors": {"password": "check your password"}})

    def _dataset(self, method: str, rest: list[str], query: dict, body: Any) -> Any:
        database = self.databases.get(body["database"])
        if database is None:
            raise FakeError(404, "Not found.")
        if self.warehouse_password is not None and database["details"].get("password") != self.warehouse_password:
            return {"status": "failed", "error": 'FATAL: password authentication failed for user "analytics_reader"'}
        return {"status": "completed", "row_count": 1, "data": {"rows": [[1]], "cols": [{"name": "ok"}]}}

    # -- collections ------------------------------------------------------------------------------

    def _collection(self, method: str, rest: list[str], query: dict, body: Any) -> Any:
        if not rest and method == "GET":
            root = {"id": "root", "name": "Our analytics", "location": None, "can_write": True}
            return [root, *[copy.deepcopy(c) for c in self.collections.values() if not c.get("archived")]]
        if not rest and method == "POST":
            parent = body.get("parent_id")
            if parent is not None and parent not in self.collections:
                raise FakeError(404, "Not found.")
            location = f"{self.collections[parent]['location']}{parent}/" if parent else "/"
            collection_id = self._next("collection")
            self.collections[collection_id] = {"id": collection_id, "name": body["name"],
                                               "description": body.get("description"), "location": location,
                                               "archived": False, "personal_owner_id": None}
            return copy.deepcopy(self.collections[collection_id])
        collection_id = int(rest[0])
        collection = self.collections.get(collection_id)
        if collection is None:
            raise FakeError(404, "Not found.")
        if method == "PUT":
            collection.update(body)
            return copy.deepcopy(collection)
        if rest[1:] == ["items"]:
            models = set(query.get("models", [])) or {"card", "dashboard", "collection"}
            items = []
            if "card" in models:
                items += [{"id": i, "name": c["name"], "description": c.get("description"), "model": "card",
                           "display": c["display"]} for i, c in self.cards.items()
                          if c["collection_id"] == collection_id and not c.get("archived")]
            if "dashboard" in models:
                items += [{"id": i, "name": d["name"], "description": d.get("description"), "model": "dashboard"}
                          for i, d in self.dashboards.items()
                          if d["collection_id"] == collection_id and not d.get("archived")]
            if "collection" in models:
                location = f"{collection['location']}{collection_id}/"
                items += [{"id": i, "name": c["name"], "description": c.get("description"), "model": "collection"}
                          for i, c in self.collections.items() if c["location"] == location and not c.get("archived")]
            if self.terse_items:
                items = [{k: v for k, v in item.items() if k != "description"} for item in items]
            return {"data": items, "total": len(items), "models": sorted(models), "limit": None, "offset": None}
        raise FakeError(404, "API endpoint does not exist.")

    # -- cards ------------------------------------------------------------------------------------

    def _shown_card(self, card: dict) -> dict:
        shown = copy.deepcopy(card)
        if self.mbql5:
            query = shown["dataset_query"]
            native = query.get("native", {})
            shown["dataset_query"] = {"lib/type": "mbql/query", "database": query["database"], "stages": [
                {"lib/type": "mbql.stage/native", "native": native.get("query"),
                 "template-tags": native.get("template-tags", {})}]}
        return shown

    def _check_card(self, card: dict) -> None:
        problems = native_problems(card["dataset_query"]) + card_parameter_problems(card)
        if card["dataset_query"]["database"] not in self.databases:
            problems.append(f"card uses database {card['dataset_query']['database']}, which does not exist")
        if card.get("collection_id") is not None and card["collection_id"] not in self.collections:
            problems.append(f"card is saved in collection {card['collection_id']}, which does not exist")
        self._violation(problems)

    def _card(self, method: str, rest: list[str], query: dict, body: Any) -> Any:
        if not rest and method == "POST":
            card = {"archived": False, "parameters": [], "description": None, "collection_id": None,
                    "type": "question"} | copy.deepcopy(body)
            self._check_card(card)
            card_id = self._next("card")
            card["id"] = card_id
            self.cards[card_id] = card
            return self._shown_card(card)
        card = self.cards.get(int(rest[0]))
        if card is None:
            raise FakeError(404, "Not found.")
        if rest[1:] == ["query"]:
            tags = card["dataset_query"]["native"].get("template-tags", {})
            unknown = [p for p in (body or {}).get("parameters", []) if p.get("target", [None, [None, None]])[1][1]
                       not in tags]
            if unknown:
                return {"status": "failed", "error": f"unknown parameters {unknown}"}
            return {"status": "completed", "row_count": 1, "data": {"rows": [[1]]}}
        if method == "GET":
            return self._shown_card(card)
        if method == "PUT":
            updated = card | copy.deepcopy(body)
            if "dataset_query" in body:
                self._check_card(updated)
            card.clear()
            card.update(updated)
            return self._shown_card(card)
        raise FakeError(405, "Method not allowed.")

    # -- dashboards -------------------------------------------------------------------------------

    def _shown_dashboard(self, dashboard: dict) -> dict:
        shown = copy.deepcopy(dashboard)
        # like Metabase: dashcards of archived cards stay stored but are not shown (nor removed)
        shown["dashcards"] = [d for d in shown["dashcards"]
                              if not (d.get("card_id") and self.cards[d["card_id"]].get("archived"))]
        for dashcard in shown["dashcards"]:
            dashcard["card"] = self._shown_card(self.cards[dashcard["card_id"]]) if dashcard.get("card_id") else None
            dashcard["dashboard_id"] = dashboard["id"]
            dashcard["dashboard_tab_id"] = None
        return shown

    def _dashboard(self, method: str, rest: list[str], query: dict, body: Any) -> Any:
        if not rest and method == "POST":
            self._violation(parameter_list_problems(body.get("parameters") or []))
            dashboard_id = self._next("dashboard")
            self.dashboards[dashboard_id] = {"id": dashboard_id, "name": body["name"],
                                             "description": body.get("description"),
                                             "collection_id": body.get("collection_id"),
                                             "parameters": copy.deepcopy(body.get("parameters") or []),
                                             "dashcards": [], "tabs": [], "archived": False}
            return self._shown_dashboard(self.dashboards[dashboard_id])
        dashboard = self.dashboards.get(int(rest[0]))
        if dashboard is None:
            raise FakeError(404, "Not found.")
        if method == "GET":
            return self._shown_dashboard(dashboard)
        if method == "PUT":
            parameters = body.get("parameters", dashboard["parameters"])
            self._violation(parameter_list_problems(parameters))
            if "dashcards" in body:
                existing = {d["id"] for d in dashboard["dashcards"]}
                self._violation(dashcard_problems(body["dashcards"], parameters, self.cards, existing))
                stored = []
                for dashcard in copy.deepcopy(body["dashcards"]):
                    if dashcard["id"] < 0:
                        dashcard["id"] = self._next("dashcard")
                    dashcard["parameter_mappings"] = [m | {"card_id": dashcard["card_id"]}
                                                      for m in dashcard.get("parameter_mappings") or []]
                    stored.append(dashcard)
                dashboard["dashcards"] = stored
            dashboard.update({k: copy.deepcopy(v) for k, v in body.items() if k != "dashcards"})
            return self._shown_dashboard(dashboard)
        raise FakeError(405, "Method not allowed.")
