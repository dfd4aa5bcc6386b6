"""Migration 0024: the funnel and acquisition aggregates are rebuilt once, their views re-created."""

from __future__ import annotations

import psycopg
from alembic import command
from alembic.config import Config


def test_upgrade_marks_the_window_aggregates_for_a_full_build_and_their_views_for_re_creation(
        scratch_db: tuple[str, Config]) -> None:
    conninfo, cfg = scratch_db
    command.upgrade(cfg, "0023")
    with psycopg.connect(conninfo) as conn:
        conn.execute("delete from core.aggregate_backfills")
        conn.execute("insert into core.aggregate_backfills (aggregate) values ('agg_funnel_conversion')")
        conn.execute("insert into meta.view_definitions (name, fingerprint) values"
                     " ('funnel_conversion', 'a'), ('acquisition_monthly', 'b'), ('mrr_monthly', 'c')")
    command.upgrade(cfg, "0024")
    with psycopg.connect(conninfo) as conn:
        assert conn.execute("select aggregate from core.aggregate_backfills order by 1").fetchall() == [
            ("agg_acquisition_monthly",), ("agg_funnel_conversion",), ("agg_funnel_user_steps",)]
        assert conn.execute("select name from meta.view_definitions").fetchall() == [("mrr_monthly",)]
    command.downgrade(cfg, "0023")
