"""Transform runner: executes the layer SQL in `sql/`, refreshes analytics views, runs data tests."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from saas_analytics import funnels
from saas_analytics.config import get_settings

log = logging.getLogger(__name__)

# Steps of each incremental layer, run in this order inside one transaction per layer.
LAYER_STEPS: dict[str, tuple[str, ...]] = {
    "staging": ("stg_files", "stg_batch", "quarantine", "events", "duplicates", "staged_files"),
    "core": (
        "core_batch", "dim_users", "dim_features", "dim_documents", "dim_plans",
        "fact_events", "core_changes", "fact_subscription_events", "session_scope", "fact_sessions",
        "fact_daily_user_activity", "watermarks",
    ),
}
# Analytics materialized views, in refresh order.
ANALYTICS_VIEWS: tuple[str, ...] = (
    "daily_active_users", "user_retention_cohorts", "feature_adoption", "mrr_monthly",
    "platform_daily_activity", "pipeline_file_loads", "quarantine_reasons",
    "user_lifecycle", "funnel_user_steps", "funnel_conversion", "daily_sessions", "acquisition_monthly",
)
TRANSFORM_LOCK = 4_242_002
KEY_LINE = re.compile(r"^--\s*key:\s*(.+)$", re.MULTILINE)
TEMP_TABLE_LINE = re.compile(r"^--\s*temp table:", re.MULTILINE)


class DataTestError(RuntimeError):
    """One or more `sql/tests/assert_*.sql` queries returned offending rows."""


@dataclass(frozen=True)
class StepResult:
    """Rows and seconds of one executed step."""

    name: str
    rows: int
    seconds: float


def sql_dir() -> Path:
    """The folder with the warehouse SQL."""
    return get_settings().sql_dir


def read_sql(layer: str, name: str) -> str:
    """The text of `sql/<layer>/<name>.sql`."""
    path = sql_dir() / layer / f"{name}.sql"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing (listed in saas_analytics.transform)")
    return path.read_text()


def run_layer(conninfo: str, layer: str, progress: Callable[[str], None] | None = None) -> list[StepResult]:
    """Run one incremental layer's steps in a single transaction: all of it or none of it."""
    say = progress or log.info
    results = []
    with psycopg.connect(conninfo) as conn, conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", [TRANSFORM_LOCK])
        conn.execute("set local work_mem = '256MB'")
        for name in LAYER_STEPS[layer]:
            started = time.perf_counter()
            cur = conn.execute(step_statement(layer, name))
            rows = max(cur.rowcount, 0)
            while cur.nextset():  # a step file may hold several statements (e.g. delete, then insert)
                rows += max(cur.rowcount, 0)
            results.append(StepResult(f"{layer}.{name}", rows, time.perf_counter() - started))
            say(f"{layer}.{name}: {rows:,} rows in {results[-1].seconds:.2f}s")
    return results


def step_statement(layer: str, name: str) -> sql.Composable:
    """A step's SQL; a `-- temp table:` select becomes this transaction's temp table named after the file."""
    text = read_sql(layer, name)
    if not TEMP_TABLE_LINE.search(text):
        return sql.SQL(text)
    return sql.SQL("create temp table {} on commit drop as ").format(sql.Identifier(name)) + sql.SQL(
        text.strip().rstrip(";"))


def view_key(select_sql: str, name: str) -> list[str]:
    """The unique key columns declared in a view's `-- key:` header line."""
    match = KEY_LINE.search(select_sql)
    if not match:
        raise ValueError(f"sql/analytics/{name}.sql needs a '-- key: col[, col]' line (unique key)")
    return [c.strip() for c in match.group(1).split(",")]


def definition_hash(select_sql: str) -> str:
    """A short fingerprint of a view's SQL, stored as the view's comment to detect edits."""
    return "sha256:" + hashlib.sha256(select_sql.encode()).hexdigest()[:16]


def refresh_analytics(
    conninfo: str, reader_role: str | None = None, progress: Callable[[str], None] | None = None
) -> list[StepResult]:
    """Create each analytics view (or re-create it when its SQL changed), else refresh it concurrently."""
    say = progress or log.info
    reader_role = reader_role or get_settings().reader_role
    results = []
    funnel_steps = funnels.load_funnels()  # a bad sql/funnels.yml stops here, before any view changes
    with psycopg.connect(conninfo, autocommit=True) as conn:
        started = time.perf_counter()
        rows = funnels.sync_funnel_steps(conn, funnel_steps)
        results.append(StepResult("core.funnel_steps", rows, time.perf_counter() - started))
        say(f"core.funnel_steps: {rows} steps loaded from sql/funnels.yml")
        for name in ANALYTICS_VIEWS:
            started = time.perf_counter()
            select_sql = read_sql("analytics", name)
            action = _refresh_view(conn, name, select_sql, reader_role)
            rows = conn.execute(sql.SQL("select count(*) from analytics.{}").format(sql.Identifier(name))).fetchone()[0]
            results.append(StepResult(f"analytics.{name}", rows, time.perf_counter() - started))
            say(f"analytics.{name}: {action}, {rows:,} rows in {results[-1].seconds:.2f}s")
    return results


def _refresh_view(conn: psycopg.Connection, name: str, select_sql: str, reader_role: str) -> str:
    """Bring one materialized view up to date; return what was done."""
    fingerprint = definition_hash(select_sql)
    current = conn.execute(
        "select obj_description(to_regclass(%s), 'pg_class')", [f"analytics.{name}"]
    ).fetchone()[0]
    ident = sql.Identifier("analytics", name)
    if current == fingerprint:
        conn.execute(sql.SQL("refresh materialized view concurrently {}").format(ident))
        return "refreshed"
    key = view_key(select_sql, name)
    with conn.transaction():
        conn.execute(sql.SQL("drop materialized view if exists {}").format(ident))
        conn.execute(sql.SQL("create materialized view {} as ").format(ident) + sql.SQL(select_sql))
        conn.execute(
            sql.SQL("create unique index {} on {} ({})").format(
                sql.Identifier(f"{name}_key"), ident, sql.SQL(", ").join(map(sql.Identifier, key))
            )
        )
        conn.execute(sql.SQL("comment on materialized view {} is {}").format(ident, sql.Literal(fingerprint)))
        role_exists = conn.execute("select 1 from pg_roles where rolname = %s", [reader_role]).fetchone()
        if role_exists:
            conn.execute(sql.SQL("grant select on {} to {}").format(ident, sql.Identifier(reader_role)))
    return "created" if current is None else "re-created (SQL changed)"


def data_test_files(prefixes: tuple[str, ...]) -> list[Path]:
    """The `sql/tests/assert_<prefix>_*.sql` files for the given layer prefixes."""
    return sorted(p for p in (sql_dir() / "tests").glob("assert_*.sql") if p.stem.split("_")[1] in prefixes)


def run_data_tests(
    conninfo: str, prefixes: tuple[str, ...], progress: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Run the data tests; raise DataTestError naming each failing test with sample rows."""
    say = progress or log.info
    failures, counts = [], {}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for path in data_test_files(prefixes):
            cur = conn.execute(path.read_text().encode())
            rows = cur.fetchall()
            counts[path.stem] = len(rows)
            say(f"{path.stem}: {'ok' if not rows else f'FAILED ({len(rows)} rows)'}")
            if rows:
                columns = [c.name for c in cur.description]
                sample = [dict(zip(columns, r, strict=True)) for r in rows[:3]]
                failures.append(f"{path.relative_to(sql_dir().parent)} returned {len(rows)} rows, e.g. {sample}")
    if failures:
        raise DataTestError("data tests failed:\n" + "\n".join(failures))
    return counts
