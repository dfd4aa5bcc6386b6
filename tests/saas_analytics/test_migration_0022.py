"""Migration 0022: Contract 1's field rule (camelCase over snake_case) as one function; the message id reads it."""

from __future__ import annotations

import json

import psycopg
from alembic import command
from alembic.config import Config

# (a line's fields, the user id staging reads, its message id), worked out by hand from Contract 1
CASES = [
    ({"userId": "u1", "user_id": "u2", "messageId": "m1"}, "u1", "m1"),  # camelCase wins
    ({"user_id": "u2", "message_id": "m2"}, "u2", "m2"),  # snake_case alone
    ({"userId": None, "user_id": "u2", "messageId": None, "message_id": "m2"}, "u2", "m2"),  # JSON null = absent
    ({"userId": 7, "user_id": "u2", "messageId": 7, "message_id": "m2"}, None, None),  # a number is no id
    ({"userId": "", "user_id": "u2", "messageId": "", "message_id": "m2"}, "", None),  # "" wins, then is no id
    ({"userId": {"id": "u1"}}, None, None),  # nor is an object
    ({}, None, None),
]


def rule(conn: psycopg.Connection) -> list[tuple]:
    """(user id, message id) of each case as the warehouse reads it."""
    return [conn.execute("select staging.event_string(%s::jsonb, 'userId', 'user_id'),"
                         " staging.event_message_id(%s::jsonb)", [json.dumps(line), json.dumps(line)]).fetchone()
            for line, _, _ in CASES]


def test_one_field_rule_reads_every_case_as_contract_1_says_and_downgrade_restores_the_message_id(
        scratch_db: tuple[str, Config]) -> None:
    conninfo, cfg = scratch_db
    command.upgrade(cfg, "0022")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        assert rule(conn) == [(user, message) for _, user, message in CASES]
        # single-expression SQL functions: inlined by the planner (no call per line), so parallel plans keep them
        plan = conn.execute("explain (verbose, costs off) select staging.event_message_id(payload)"
                            " from raw.events").fetchall()
        assert "event_string" not in str(plan) and "messageId" in str(plan)
    command.downgrade(cfg, "0021")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        assert conn.execute("select to_regprocedure('staging.event_string(jsonb, text, text)')").fetchone()[0] is None
        ids = [conn.execute("select staging.event_message_id(%s::jsonb)", [json.dumps(line)]).fetchone()[0]
               for line, _, _ in CASES]
        assert ids == [message for _, _, message in CASES]
