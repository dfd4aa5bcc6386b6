"""The embedded server's settings (applied with `alter system` at start, overridable from the environment) and
the warehouse database's locale."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from saas_analytics import warehouse
from saas_analytics.config import get_settings


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """Settings rebuilt from the (patched) environment, and rebuilt again afterwards."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def own_server(pg_server: dict) -> Iterator[warehouse.Settings]:
    """Settings for an embedded server of this test's own (a data folder outside pytest's 0700 tree)."""
    folder = Path(tempfile.mkdtemp(prefix="saas-test-settings-"))
    settings = replace(pg_server["settings"], pgdata_dir=folder / "postgres", database_url=None)
    yield settings
    try:
        warehouse.stop(settings)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _show(settings: warehouse.Settings, *names: str) -> list[str]:
    """`show <name>` of the running embedded server, for each name."""
    with psycopg.connect(warehouse.server_conninfo(settings, "postgres")) as conn:
        return [conn.execute(f"show {name}").fetchone()[0] for name in names]


def test_defaults_raise_the_servers_memory_and_wal_limits(fresh_settings, monkeypatch):
    for name in ("WAREHOUSE_PG_SHARED_BUFFERS", "WAREHOUSE_PG_MAX_WAL_SIZE", "WAREHOUSE_PG_CHECKPOINT_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    values = dict(get_settings().embedded_pg_settings)
    assert values["shared_buffers"] == "1GB"
    assert values["max_wal_size"] == "4GB"
    assert values["checkpoint_timeout"] == "15min"


def test_the_environment_overrides_and_adds_settings(fresh_settings, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_PG_SHARED_BUFFERS", "2GB")
    monkeypatch.setenv("WAREHOUSE_PG_WAL_COMPRESSION", "on")
    monkeypatch.setenv("WAREHOUSE_PG_MAX_WAL_SIZE", "")  # empty: the project's default
    values = dict(get_settings().embedded_pg_settings)
    assert values["shared_buffers"] == "2GB"
    assert values["wal_compression"] == "on"
    assert values["max_wal_size"] == "4GB"


def test_a_name_that_is_no_setting_is_a_clear_error(fresh_settings, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_PG_SHARED-BUFFERS", "1GB")
    with pytest.raises(ValueError, match="WAREHOUSE_PG_SHARED-BUFFERS does not name a PostgreSQL setting"):
        get_settings()


def test_a_new_server_starts_with_the_settings_and_restarts_only_when_needed(own_server, caplog):
    settings = replace(own_server, embedded_pg_settings=(
        ("checkpoint_timeout", "20min"), ("max_wal_size", "3GB"), ("shared_buffers", "48MB")))
    warehouse._start_embedded(settings)  # initdb, start, alter system, restart for shared_buffers
    assert _show(settings, "shared_buffers", "max_wal_size", "checkpoint_timeout") == ["48MB", "3GB", "20min"]
    pid = warehouse.status(settings).pid

    # running: a reloadable change applies at once, a restart-only one waits (a DAG run may be using it)
    changed = replace(settings, embedded_pg_settings=(
        ("checkpoint_timeout", "25min"), ("max_wal_size", "3GB"), ("shared_buffers", "64MB")))
    with caplog.at_level(logging.WARNING, logger="saas_analytics.warehouse"):
        warehouse._start_embedded(changed)
    assert warehouse.status(changed).pid == pid
    assert _show(changed, "shared_buffers", "checkpoint_timeout") == ["48MB", "25min"]
    assert "shared_buffers take effect at its next start" in caplog.text

    # the next start applies it; a start with nothing changed does not restart
    assert warehouse.stop(changed)
    warehouse._start_embedded(changed)
    assert _show(changed, "shared_buffers", "checkpoint_timeout") == ["64MB", "25min"]
    pid = warehouse.status(changed).pid
    warehouse._start_embedded(changed)
    assert warehouse.status(changed).pid == pid
    assert warehouse.apply_server_settings(changed) == []

    # 'default' hands a setting back to PostgreSQL's own default (128MB)
    reset = replace(changed, embedded_pg_settings=(("shared_buffers", "default"),))
    assert warehouse.stop(reset)
    warehouse._start_embedded(reset)
    assert _show(reset, "shared_buffers", "checkpoint_timeout") == ["128MB", "25min"]


def test_a_bad_value_names_the_variable_to_fix(own_server):
    settings = replace(own_server, embedded_pg_settings=(("shared_buffers", "lots"),))
    with pytest.raises(warehouse.WarehouseError, match="shared_buffers to 'lots'.*WAREHOUSE_PG_SHARED_BUFFERS"):
        warehouse._start_embedded(settings)


def test_a_database_url_server_is_never_changed(own_server):
    settings = replace(own_server, database_url="postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(warehouse.WarehouseError, match="does not change that server's settings"):
        warehouse.apply_server_settings(settings)


# Strings whose code-point order differs from a linguistic one (en_US puts "a" before "B", "é" next to "e").
SORT_SAMPLES = ["b", "B", "a", "é", "e", "z", "Z", "_", "1", "ab", "a b", "Ä", "ß"]


def _locale_behaviour(conninfo: str) -> tuple[list[str], str, str, bool, bool]:
    """(the samples sorted, upper('é'), lower('Ä'), 'é' a word character, 'a' < 'B') in a database."""
    with psycopg.connect(conninfo) as conn:
        return conn.execute(
            "select (select array_agg(s order by s) from unnest(%s::text[]) as s), upper('é'), lower('Ä'),"
            " 'é' ~ '^\\w$', 'a' < 'B'",
            [SORT_SAMPLES]).fetchone()


@pytest.mark.parametrize("server_version", [180000, 160000], ids=["builtin provider", "libc C (PostgreSQL 15-16)"])
def test_the_warehouse_locale_sorts_by_code_point_with_unicode_case(pg_server, server_version):
    name = f"saas_locale_{server_version}"
    with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
        if conn.info.server_version < 170000 <= server_version:
            pytest.skip("DATABASE_URL names a PostgreSQL 15 or 16 server: it has no builtin locale provider")
        conn.execute(f'drop database if exists "{name}"')
        (ctype,) = conn.execute("select datctype from pg_database where datname = 'template1'").fetchone()
        conn.execute(sql.SQL("create database {} template template0 encoding 'UTF8' {}").format(
            sql.Identifier(name), warehouse.database_locale(server_version, ctype)))
    try:
        ordered, upper, lower, word, a_before_b = _locale_behaviour(
            make_conninfo(pg_server["admin"], dbname=name))
    finally:
        with psycopg.connect(pg_server["admin"], autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}"')
    # Python orders str by code point: the independent expectation
    assert ordered == sorted(SORT_SAMPLES)
    assert (upper, lower, word, a_before_b) == ("É", "ä", True, False)


def _collation(conn: psycopg.Connection, name: str) -> str:
    """A database's locale provider and collation ('b C.UTF-8': builtin; PostgreSQL 15-16 name no builtin one)."""
    column = "datlocale" if conn.info.server_version >= 170000 else "datcollate"
    return conn.execute(sql.SQL("select datlocprovider::text || ' ' || {} from pg_database where datname = %s")
                        .format(sql.Identifier(column)), [name]).fetchone()[0]


def test_test_warehouses_have_the_warehouse_locale(warehouse_db):
    with psycopg.connect(warehouse_db) as conn:
        expected = "b C.UTF-8" if conn.info.server_version >= 170000 else "c C"
        assert _collation(conn, conn.info.dbname) == expected
    assert _locale_behaviour(warehouse_db)[0] == sorted(SORT_SAMPLES)


def test_a_new_embedded_warehouse_gets_the_warehouse_locale(own_server):
    settings = replace(own_server, embedded_pg_settings=())
    warehouse._start_embedded(settings)
    warehouse.bootstrap(settings)
    with psycopg.connect(warehouse.server_conninfo(settings, "postgres")) as conn:
        assert _collation(conn, settings.warehouse_db) == "b C.UTF-8"  # the embedded server is PostgreSQL 18
    assert _locale_behaviour(warehouse.warehouse_conninfo(settings))[0] == sorted(SORT_SAMPLES)
