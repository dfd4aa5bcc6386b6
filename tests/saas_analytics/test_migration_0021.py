"""Migration 0021: the lifecycle's period kinds as one table; downgrade drops it and the view that reads it."""

from __future__ import annotations

import psycopg
from alembic import command
from alembic.config import Config


def test_upgrade_defines_the_three_period_kinds_and_downgrade_drops_them_with_the_view(
        scratch_db: tuple[str, Config]) -> None:
    conninfo, cfg = scratch_db
    command.upgrade(cfg, "0021")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        kinds = conn.execute("select period, step::text from core.lifecycle_periods order by period").fetchall()
        assert kinds == [("day", "1 day"), ("month", "1 mon"), ("week", "7 days")]
        # the planner knows the table's size from the first run on
        assert conn.execute("select reltuples from pg_class where oid = 'core.lifecycle_periods'::regclass"
                            ).fetchone()[0] == 3
        # as the refresh creates it: a view that reads the table (the downgrade must not be stopped by it)
        conn.execute("create materialized view analytics.user_lifecycle as select period from core.lifecycle_periods")
        conn.execute("insert into meta.view_definitions (name, fingerprint) values ('user_lifecycle', 'x')")
    command.downgrade(cfg, "0020")
    with psycopg.connect(conninfo) as conn:
        assert conn.execute("select to_regclass('core.lifecycle_periods'), to_regclass('analytics.user_lifecycle')"
                            ).fetchone() == (None, None)
        # the next refresh re-creates the view from the SQL then deployed
        assert conn.execute("select count(*) from meta.view_definitions where name = 'user_lifecycle'"
                            ).fetchone()[0] == 0
