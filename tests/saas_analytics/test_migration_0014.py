"""Migration 0014: staging.events without its jsonb copies, on a populated 0013 warehouse, and back."""

from __future__ import annotations

import json

import psycopg
from alembic import command
from alembic.config import Config

# raw lines as landed, and the objects staging copied from them under 0013's stg_batch (an object, else {}),
# written out by hand
LINES = [
    ({"messageId": "m1", "type": "track", "event": "feature_used", "userId": "u1",
      "timestamp": "2026-06-01T10:00:00Z", "properties": {"feature": "editor"}, "context": {"platform": "web"}},
     {"feature": "editor"}, {}, {"platform": "web"}),
    ({"message_id": "m2", "type": "identify", "user_id": "u1", "timestamp": "2026-06-01T10:01:00Z",
      "traits": {"company": "Acme", "email": "a@acme.io"}, "context": [1, 2]},
     {}, {"company": "Acme", "email": "a@acme.io"}, {}),
    ({"messageId": "m3", "type": "track", "event": "x", "anonymousId": "a1", "timestamp": "2026-06-01T10:02:00Z",
      "properties": None, "traits": "a string", "context": {"campaign": {"source": "ads"}}},
     {}, {}, {"campaign": {"source": "ads"}}),
]
FILLER = 3000  # more staged rows, so the rewrite's saving shows in the table's size


def _populate_0013(conninfo: str) -> None:
    """Raw lines and the staged rows 0013 kept for them (with their three objects)."""
    filler = {"feature": "editor", "document_id": "d" * 40, "session_id": "s" * 36}
    with psycopg.connect(conninfo) as conn:
        for line_no, (payload, properties, traits, context) in enumerate(LINES, start=1):
            conn.execute("insert into raw.events (file_id, line_no, payload) values (1, %s, %s)",
                         [line_no, json.dumps(payload)])
            conn.execute(
                "insert into staging.events (message_id, event_type, event_name, user_id, anonymous_id, event_at,"
                " event_date, properties, traits, context, file_id, line_no)"
                " values (%s, %s, %s, %s, %s, %s, %s::timestamptz::date, %s, %s, %s, 1, %s)",
                [payload.get("messageId", payload.get("message_id")), payload["type"], payload.get("event"),
                 payload.get("userId", payload.get("user_id")), payload.get("anonymousId"), payload["timestamp"],
                 payload["timestamp"], json.dumps(properties), json.dumps(traits), json.dumps(context), line_no])
        conn.execute(
            "insert into raw.events (file_id, line_no, payload)"
            " select 1, n, jsonb_build_object('properties', %s::jsonb) from generate_series(10, 9 + %s) as n",
            [json.dumps(filler), FILLER])
        conn.execute(
            "insert into staging.events (message_id, event_type, event_name, user_id, event_at, event_date,"
            " properties, traits, context, file_id, line_no) select 'x' || n, 'track', 'feature_used', 'u2', now(),"
            " current_date, %s, '{}', '{}', 1, n from generate_series(10, 9 + %s) as n", [json.dumps(filler), FILLER])


def _staged(conninfo: str) -> list[tuple]:
    """The typed columns of every staged event, in staging order."""
    with psycopg.connect(conninfo) as conn:
        return conn.execute("select staged_seq, message_id, event_type, event_name, user_id, anonymous_id, event_at,"
                            " file_id, line_no from staging.events order by staged_seq").fetchall()


def _size(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        return conn.execute("select pg_relation_size('staging.events')").fetchone()[0]


def test_upgrade_drops_the_copies_keeps_the_events_and_downgrade_refills_them(scratch_db: tuple[str, Config]) -> None:
    conninfo, cfg = scratch_db
    command.upgrade(cfg, "0013")
    _populate_0013(conninfo)
    events, size = _staged(conninfo), _size(conninfo)

    command.upgrade(cfg, "0014")
    with psycopg.connect(conninfo) as conn:
        columns = {r[0] for r in conn.execute(
            "select attname from pg_attribute where attrelid = 'staging.events'::regclass and attnum > 0"
            " and not attisdropped")}
        assert not columns & {"properties", "traits", "context"}
        # the objects as readers now take them from raw: what 0013 had copied
        got = conn.execute(
            "select staging.event_object(payload, 'properties'), staging.event_object(payload, 'traits'),"
            " staging.event_object(payload, 'context') from raw.events where line_no <= 3 order by line_no"
        ).fetchall()
    assert got == [(p, t, c) for _, p, t, c in LINES]
    assert _staged(conninfo) == events
    assert _size(conninfo) < size * 0.8  # rewritten: the dropped columns' bytes are gone

    command.downgrade(cfg, "0013")
    assert _staged(conninfo) == events
    with psycopg.connect(conninfo) as conn:
        back = conn.execute("select properties, traits, context from staging.events where line_no <= 3"
                            " order by line_no").fetchall()
        assert conn.execute("select count(*) from staging.events where properties ->> 'feature' = 'editor'"
                            " and line_no >= 10").fetchone()[0] == FILLER
        assert conn.execute("select to_regprocedure('staging.event_object(jsonb, text)')").fetchone()[0] is None
    assert back == [(p, t, c) for _, p, t, c in LINES]
