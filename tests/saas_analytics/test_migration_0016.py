"""Migration 0016: core's inserts join the check scope as staged_seq ranges; upgrade keeps, downgrade converts."""

from __future__ import annotations

import psycopg
import pytest
from alembic import command
from alembic.config import Config


def _listed(conninfo: str) -> set[str]:
    """The message ids of meta.check_scope_events."""
    with psycopg.connect(conninfo) as conn:
        return {r[0] for r in conn.execute("select message_id from meta.check_scope_events")}


def test_upgrade_keeps_the_listed_scope_and_downgrade_lists_the_unchecked_ranges(
        scratch_db: tuple[str, Config]) -> None:
    conninfo, cfg = scratch_db
    command.upgrade(cfg, "0013")
    with psycopg.connect(conninfo, autocommit=True) as conn:  # a warehouse with scope rows of a run before 0016
        conn.execute("insert into meta.check_scope_events (message_id) values ('m-old')")
        # the raw lines the staged events point at (migration 0014's downgrade refills their objects from them)
        conn.execute("insert into raw.events (file_id, line_no, payload)"
                     " select 1, n, jsonb_build_object('messageId', 'm' || n) from generate_series(1, 3) as n")
        conn.execute(
            "insert into staging.events (message_id, event_type, event_name, user_id, event_at, event_date,"
            " properties, traits, context, file_id, line_no)"
            " select 'm' || n, 'track', 'page_viewed', 'ann', '2026-06-01T10:00:00Z', '2026-06-01', '{}', '{}',"
            " '{}', 1, n from generate_series(1, 3) as n")
        seqs = [r[0] for r in conn.execute("select staged_seq from staging.events order by line_no")]
    command.upgrade(cfg, "0016")
    assert _listed(conninfo) == {"m-old"}  # kept as it was: checked as before
    with psycopg.connect(conninfo, autocommit=True) as conn:  # core inserted m1 and m2 (one run, one range)
        conn.execute("insert into meta.check_scope_staged (after_staged_seq, upto_staged_seq) values (%s, %s)",
                     [seqs[0] - 1, seqs[1]])
        with pytest.raises(psycopg.errors.CheckViolation):  # an empty range is refused
            conn.execute("insert into meta.check_scope_staged (after_staged_seq, upto_staged_seq) values (5, 5)")
    command.downgrade(cfg, "0013")
    # the range not yet checked becomes event rows, so no check stage loses them; m3 was never in scope
    assert _listed(conninfo) == {"m-old", "m1", "m2"}
    with psycopg.connect(conninfo) as conn:
        assert conn.execute("select to_regclass('meta.check_scope_staged')").fetchone()[0] is None
