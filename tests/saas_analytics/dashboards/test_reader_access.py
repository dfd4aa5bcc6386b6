"""The BI role (analytics_reader), connected to the demo warehouse: it reads every analytics object, is
refused on raw, staging and core and on any write, and analytics holds no personal data."""

from __future__ import annotations

import re

import psycopg
import pytest
from psycopg import sql

READER = "analytics_reader"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def relations(conninfo: str, schemas: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(schema, name, kind) of tables, views and materialized views in these schemas."""
    with psycopg.connect(conninfo) as conn:
        return conn.execute(
            "select n.nspname, c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = any(%s) and c.relkind in ('r', 'v', 'm', 'p') order by 1, 2", [list(schemas)]
        ).fetchall()


def test_reader_reads_every_analytics_object(demo_warehouse: str, reader_conninfo: str) -> None:
    objects = relations(demo_warehouse, ("analytics",))
    names = {name for _, name, _ in objects}
    assert {"daily_active_users", "user_retention_cohorts", "feature_adoption", "mrr_monthly", "pipeline_runs",
            "pipeline_run_stages", "platform_daily_activity", "pipeline_file_loads", "quarantine_reasons"} <= names
    with psycopg.connect(reader_conninfo) as conn:
        assert conn.execute("select current_user").fetchone()[0] == READER
        for schema, name, _ in objects:
            conn.execute(sql.SQL("select * from {} limit 1").format(sql.Identifier(schema, name))).fetchall()
        defaults = conn.execute("show default_transaction_read_only").fetchone()[0]
    with psycopg.connect(demo_warehouse) as conn:
        may_alter_roles = conn.execute(
            "select rolsuper or rolcreaterole from pg_roles where rolname = current_user").fetchone()[0]
    if may_alter_roles:  # 0002 gave the role read-only sessions that find analytics objects unqualified
        assert defaults == "on"
        with psycopg.connect(reader_conninfo) as conn:
            assert conn.execute("select count(*) from mrr_monthly").fetchone()[0] > 0


@pytest.mark.parametrize("schema", ["raw", "staging", "core", "meta"])
def test_reader_is_refused_on_the_pipeline_schemas(demo_warehouse: str, reader_conninfo: str, schema: str) -> None:
    objects = relations(demo_warehouse, (schema,))
    assert objects, f"{schema} should hold tables"
    with psycopg.connect(reader_conninfo, autocommit=True) as conn:
        for _, name, _ in objects:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match=f"permission denied for schema {schema}"):
                conn.execute(sql.SQL("select * from {} limit 1").format(sql.Identifier(schema, name)))


def test_reader_has_no_privilege_outside_analytics(demo_warehouse: str) -> None:
    with psycopg.connect(demo_warehouse) as conn:
        granted = conn.execute(
            """
            select n.nspname, c.relname, p.privilege
            from pg_class c
            join pg_namespace n on n.oid = c.relnamespace
            cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'])
                as p (privilege)
            where c.relkind in ('r', 'v', 'm', 'p', 'S')
              and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%%'
              and has_table_privilege(%s, c.oid, p.privilege)
            order by 1, 2, 3
            """, [READER]).fetchall()
        schemas = conn.execute(
            "select nspname, has_schema_privilege(%s, oid, 'USAGE'), has_schema_privilege(%s, oid, 'CREATE')"
            " from pg_namespace where nspname in ('raw', 'staging', 'core', 'analytics', 'public')",
            [READER, READER]).fetchall()
    assert {(s, p) for s, _, p in granted} == {("analytics", "SELECT")}, granted
    assert {name: (usage, create) for name, usage, create in schemas} == {
        "raw": (False, False), "staging": (False, False), "core": (False, False), "analytics": (True, False),
        "public": (True, False)}


WRITES = [
    "insert into analytics.pipeline_runs (run_id, dag_id, started_at, status) values ('x', 'x', now(), 'x')",
    "update analytics.pipeline_runs set status = 'x'",
    "delete from analytics.pipeline_run_stages",
    "truncate analytics.pipeline_runs",
    "update analytics.mrr_monthly set mrr = 0",
    "refresh materialized view analytics.daily_active_users",
    "drop materialized view analytics.feature_adoption",
    "alter table analytics.pipeline_runs add column x int",
    "create table analytics.sneaky (x int)",
    "create view analytics.sneaky as select 1 as x",
    "create table public.sneaky (x int)",
    "create schema sneaky",
    "insert into raw.load_batches (run_id) values ('x')",
    "comment on materialized view analytics.mrr_monthly is 'x'",
    "create index on analytics.pipeline_runs (status)",
    "create function analytics.sneaky() returns int language sql return 1",
]


@pytest.mark.parametrize("statement", WRITES)
def test_reader_is_refused_on_any_write(reader_conninfo: str, statement: str) -> None:
    refused = (psycopg.errors.InsufficientPrivilege, psycopg.errors.WrongObjectType)
    # even in an explicitly read-write transaction: privileges, not just the session default, refuse it
    with psycopg.connect(reader_conninfo, autocommit=True) as conn, pytest.raises(refused), conn.transaction():
        conn.execute("set transaction read write")
        conn.execute(statement)


def test_analytics_holds_no_personal_data(demo_warehouse: str) -> None:
    with psycopg.connect(demo_warehouse) as conn:
        columns = conn.execute(
            """
            select c.table_name, c.column_name, c.data_type
            from information_schema.columns c
            where c.table_schema = 'analytics'
            union all
            select cls.relname, a.attname, format_type(a.atttypid, a.atttypmod)
            from pg_attribute a
            join pg_class cls on cls.oid = a.attrelid
            join pg_namespace n on n.oid = cls.relnamespace
            where n.nspname = 'analytics' and cls.relkind = 'm' and a.attnum > 0 and not a.attisdropped
            """).fetchall()
        personal_names = re.compile(
            r"^(name|email|e_mail|phone|address|ip|ip_address)$"
            r"|(^|_)(email|email_address|first_name|last_name|full_name|user_name|username|display_name|phone)$")
        flagged = [(t, c) for t, c, _ in columns if personal_names.search(c)]
        assert flagged == [], f"columns that look like personal data: {flagged}"

        people = {row[0] for row in conn.execute(
            "select distinct payload -> 'traits' ->> 'name' from raw.events where payload -> 'traits' ? 'name'"
        ).fetchall()}
        emails = {row[0] for row in conn.execute(
            "select distinct payload -> 'traits' ->> 'email' from raw.events where payload -> 'traits' ? 'email'"
        ).fetchall()}
        assert people and emails, "the demo data has names and emails to leak"
        leaks = []
        for table, column, data_type in columns:
            if data_type not in ("text", "character varying", "jsonb", "json"):
                continue
            values = conn.execute(sql.SQL("select distinct {}::text from {}").format(
                sql.Identifier(column), sql.Identifier("analytics", table))).fetchall()
            for (value,) in values:
                if value and (EMAIL.search(value) or value in people or value in emails
                              or any(p in value for p in people)):
                    leaks.append((table, column, value[:80]))
        assert leaks == [], f"personal data in analytics: {leaks[:5]}"
