"""Migration 0011: the timestamp check's fast path keeps the contract's rule; downgrade restores 0001's check."""

from __future__ import annotations

import psycopg
from alembic import command
from alembic.config import Config

# Labelled by hand from Contract 1 (ISO-8601, seconds, at most 6 fractional digits, `Z` or ±hh:mm up to 14:59)
# and the calendar; each fast-path shape (…Z with 0, 1–6 fractional digits) appears valid and invalid.
LABELLED = {
    "2026-06-01T00:47:05Z": True,
    "2026-06-01T00:47:05.977Z": True,
    "2026-06-01T00:47:05.9Z": True,
    "2026-06-01T00:47:05.977123Z": True,
    "9999-12-31T23:59:59.999999Z": True,
    "0001-01-01T00:00:00Z": True,
    "2024-02-29T12:00:00Z": True,  # a leap day
    "2026-06-01T00:47:05+00:00": True,
    "2026-06-01T00:47:05.5-05:30": True,
    "2026-06-01T00:47:05+14:59": True,
    "2026-06-01T00:47:05.9771234Z": False,  # seven fractional digits
    "2026-06-01T00:47:05.Z": False,
    "2026-02-29T00:00:00Z": False,  # not a leap year
    "2026-06-31T00:00:00Z": False,
    "2026-13-01T00:00:00Z": False,
    "2026-06-01T24:00:00Z": False,
    "2026-06-01T23:59:60Z": False,
    "0000-01-01T00:00:00Z": False,
    "10000-01-01T00:00:0Z": False,
    "2026-06-01 00:47:05Z": False,
    "2026-06-01t00:47:05Z": False,
    "2026-06-01T00:47:05z": False,
    "2026-06-01T00:47Z": False,
    "2026-06-01T00:47:5.123Z": False,
    "2026-6-01T00:47:05.123Z": False,
    "2026-06-01T00:47:05.97aZ": False,
    "2026-06-01T00:47:05 Z": False,
    "2026-06-01T00:47:05": False,  # no offset
    "2026-06-01T00:47:05+15:00": False,
    "2026-06-01": False,
    "soon": False,
    "": False,
}


def _verdicts(conninfo: str) -> dict[str, bool]:
    """staging.is_valid_timestamptz of every labelled value (in a session far from UTC)."""
    with psycopg.connect(conninfo) as conn:
        conn.execute("set timezone = 'Pacific/Kiritimati'")
        return {value: conn.execute("select staging.is_valid_timestamptz(%s)", [value]).fetchone()[0]
                for value in LABELLED}


def _indexes(conninfo: str) -> dict[str, str]:
    """{index name: access method} of staging.events and core.fact_events."""
    with psycopg.connect(conninfo) as conn:
        return dict(conn.execute(
            "select c.relname, am.amname from pg_index i join pg_class c on c.oid = i.indexrelid"
            " join pg_am am on am.oid = c.relam"
            " where i.indrelid in ('staging.events'::regclass, 'core.fact_events'::regclass)").fetchall())


def test_timestamp_check_keeps_the_rule_and_downgrade_restores_it(scratch_db: tuple[str, Config]) -> None:
    conninfo, cfg = scratch_db
    command.upgrade(cfg, "0010")
    assert _verdicts(conninfo) == LABELLED
    with psycopg.connect(conninfo) as conn:  # a populated warehouse: staged rows exist before the upgrade
        conn.execute("insert into staging.events (message_id, event_type, user_id, event_at, event_date, properties,"
                     " traits, context, file_id, line_no) select 'm' || n, 'track', 'u', now(), current_date, '{}',"
                     " '{}', '{}', 1, n from generate_series(1, 1000) as n")
    before = _indexes(conninfo)
    assert before["events_staged_seq_key"] == "btree" and "fact_events_session" in before
    command.upgrade(cfg, "0011")
    assert _verdicts(conninfo) == LABELLED
    after = _indexes(conninfo)
    assert after["staging_events_staged_seq"] == "brin"
    assert "events_staged_seq_key" not in after and "fact_events_session" not in after
    with psycopg.connect(conninfo) as conn:
        conn.execute("set enable_seqscan = off")  # the BRIN answers "after the watermark" exactly
        assert conn.execute("select count(*) from staging.events where staged_seq > 990").fetchone()[0] == 10
    with psycopg.connect(conninfo) as conn:
        assert conn.execute("select staging.is_valid_timestamptz(null)").fetchone()[0] is None
        # stable, so the planner inlines it: no SQL-function call per line
        assert conn.execute("select provolatile from pg_proc where oid = 'staging.is_valid_timestamptz'::regproc"
                            ).fetchone()[0] == "s"
    command.downgrade(cfg, "0010")
    assert _verdicts(conninfo) == LABELLED
    assert _indexes(conninfo) == before
    with psycopg.connect(conninfo) as conn:
        assert conn.execute("select provolatile from pg_proc where oid = 'staging.is_valid_timestamptz'::regproc"
                            ).fetchone()[0] == "i"
