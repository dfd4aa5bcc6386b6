"""Migration 0015 on a populated warehouse: fact_events_anonymous narrowed to anonymous-only events, and back."""

from __future__ import annotations

import psycopg
import pytest
from alembic import command
from alembic.config import Config

# (message_id, sent_user_id, anonymous_id): identified events carry their device's anonymous id too
EVENTS = [
    ("m1", None, "anon-a"),
    ("m2", "user-1", "anon-a"),
    ("m3", None, "anon-b"),
    ("m4", "user-2", "anon-b"),
    ("m5", "user-2", None),
]


@pytest.fixture
def populated(scratch_db: tuple[str, Config]) -> tuple[str, Config]:
    """A warehouse at migration 0013 holding EVENTS in core.fact_events, and an Alembic config for it."""
    conninfo, cfg = scratch_db
    command.upgrade(cfg, "0013")
    with psycopg.connect(conninfo) as conn:
        conn.cursor().executemany(
            "insert into core.fact_events (message_id, sent_user_id, anonymous_id, event_type, event_at, event_date,"
            " properties, file_id, line_no) values (%s, %s, %s, 'track', '2026-01-01', '2026-01-01', '{}', 1, 1)",
            EVENTS)
    return conninfo, cfg


def _index(conninfo: str) -> str:
    """The definition of core.fact_events_anonymous."""
    with psycopg.connect(conninfo) as conn:
        return conn.execute("select indexdef from pg_indexes where schemaname = 'core'"
                            " and indexname = 'fact_events_anonymous'").fetchone()[0]


def _anonymous_only(conninfo: str, ids: list[str]) -> tuple[list[str], str]:
    """The anonymous-only events of `ids` (as re-attribution looks them up) and the plan that found them."""
    query = ("select message_id from core.fact_events where anonymous_id = any(%s) and sent_user_id is null"
             " order by message_id")
    with psycopg.connect(conninfo) as conn:
        conn.execute("set enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute("explain " + query, [ids]).fetchall())
        return [r[0] for r in conn.execute(query, [ids]).fetchall()], plan


def test_upgrade_narrows_the_index_in_place_and_downgrade_restores_it(populated):
    conninfo, cfg = populated
    assert _index(conninfo).endswith("WHERE (anonymous_id IS NOT NULL)")

    command.upgrade(cfg, "0015")
    assert _index(conninfo).endswith("WHERE (sent_user_id IS NULL)")
    with psycopg.connect(conninfo) as conn:
        assert conn.execute("select count(*) from core.fact_events").fetchone()[0] == len(EVENTS)
    found, plan = _anonymous_only(conninfo, ["anon-a", "anon-b"])
    assert found == ["m1", "m3"]  # by hand from EVENTS: the two events without a user id
    assert "fact_events_anonymous" in plan

    command.downgrade(cfg, "0013")
    assert _index(conninfo).endswith("WHERE (anonymous_id IS NOT NULL)")
    assert _anonymous_only(conninfo, ["anon-a", "anon-b"])[0] == ["m1", "m3"]
