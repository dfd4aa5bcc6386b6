"""Small landing files and queries shared by the operations tests (issue 13)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import psycopg


def track(message_id: str, user_id: str, day: str, event: str = "feature_used", **properties) -> dict:
    """A valid track event on a UTC day at 10:00."""
    props = {"feature": "editor", **properties} if event == "feature_used" else properties
    return {"message_id": message_id, "type": "track", "event": event, "user_id": user_id,
            "timestamp": f"{day}T10:00:00Z", "properties": props}


def write_events(path: Path, events: list[dict]) -> Path:
    """Write events as a JSON Lines landing file (gzip when the name ends in .gz)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(json.dumps(e).encode() + b"\n" for e in events)
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path


def rows(conninfo: str, query: str, params: list | None = None) -> list[tuple]:
    """All rows of a query."""
    with psycopg.connect(conninfo) as conn:
        return conn.execute(query, params or []).fetchall()


def scalar(conninfo: str, query: str, params: list | None = None):
    """First column of the first row."""
    return rows(conninfo, query, params)[0][0]
