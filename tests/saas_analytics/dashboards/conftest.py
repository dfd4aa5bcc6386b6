"""Fixtures of the dashboard tests: the demo warehouse as the read-only BI role sees it."""

from __future__ import annotations

import secrets

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

READER = "analytics_reader"


@pytest.fixture(scope="session")
def reader_conninfo(pg_server: dict, demo_warehouse: str) -> str:
    """The demo warehouse, connected as the reader role (given a password so any server lets it in)."""
    password = secrets.token_urlsafe(18)
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        try:
            conn.execute(sql.SQL("alter role {} with login password {}").format(
                sql.Identifier(READER), sql.Literal(password)))
        except psycopg.errors.InsufficientPrivilege:
            pytest.skip(f"the test server's admin may not set {READER}'s password")
    return make_conninfo(demo_warehouse, user=READER, password=password)
