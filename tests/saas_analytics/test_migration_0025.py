"""Migration 0025: `core.dim_users.first_platform_at`; first platforms and traits recomputed from the events."""

from __future__ import annotations

import psycopg
from alembic import command
from alembic.config import Config


def test_upgrade_recomputes_first_platform_and_traits_as_one_run_gives_them(scratch_db: tuple[str, Config]) -> None:
    conninfo, cfg = scratch_db
    command.upgrade(cfg, "0024")
    with psycopg.connect(conninfo) as conn:
        conn.execute(
            "insert into raw.events (file_id, line_no, payload) values"
            """ (1, 1, '{"traits": {"company": "Acme", "email": "ana@ACME.io"}}'),"""
            """ (1, 2, '{"traits": {"country": "US"}}'), (1, 3, '{}'), (1, 4, '{}'), (1, 5, '{}')""")
        # what two daily runs could leave: web (the platform of a later event) and the older identify's company
        conn.execute("insert into core.dim_users (user_id, first_seen_at, last_seen_at, company, country,"
                     " email_domain, traits_updated_at, first_platform) values"
                     " ('u1', '2024-01-01', '2024-01-05', 'Acme', 'US', 'acme.io', '2024-01-02 10:00Z', 'web'),"
                     " ('u2', '2024-01-01', '2024-01-01', null, null, null, null, null)")
        conn.execute(
            "insert into core.fact_events (message_id, user_id, event_type, event_name, event_at, event_date,"
            " platform, properties, file_id, line_no) values"
            " ('i1', 'u1', 'identify', null, '2024-01-01 10:00Z', '2024-01-01', null, '{}', 1, 1),"
            " ('i2', 'u1', 'identify', null, '2024-01-02 10:00Z', '2024-01-02', null, '{}', 1, 2),"
            " ('p2', 'u1', 'page', 'page_viewed', '2024-01-05 10:00Z', '2024-01-05', 'web', '{}', 1, 3),"
            " ('p3', 'u1', 'page', 'page_viewed', '2024-01-03 10:00Z', '2024-01-03', 'ios', '{}', 1, 4),"
            " ('q1', 'u2', 'page', 'page_viewed', '2024-01-01 10:00Z', '2024-01-01', null, '{}', 1, 5)")
    command.upgrade(cfg, "0025")
    with psycopg.connect(conninfo) as conn:
        got = conn.execute("select user_id, first_platform, first_platform_at::text, company, country, email_domain,"
                           " traits_updated_at::text from core.dim_users order by user_id").fetchall()
    assert got == [("u1", "ios", "2024-01-03 10:00:00+00", None, "US", None, "2024-01-02 10:00:00+00"),
                   ("u2", None, None, None, None, None, None)]
    command.downgrade(cfg, "0024")
