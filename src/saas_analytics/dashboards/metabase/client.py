"""A thin JSON client for Metabase's REST API: transport errors and refusals become one-line MetabaseErrors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx


class MetabaseError(RuntimeError):
    """Metabase is unreachable, refused a request, or holds something we must not overwrite."""


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
