"""Transform runner: executes the layer SQL in `sql/`, refreshes analytics views, runs data tests.

Analytics objects: `sql/analytics/<name>.sql` (a select with `-- grain:` and `-- key:` lines; a
`-- kind: view` line makes it a plain view, always current, instead of a materialized view) and
`sql/analytics/<name>.yml` (its description and one per column) that become the object's and columns'
comments — what psql's `\\d+` and Metabase show. Tables created by migrations carry a yml too (with a
`grain:` key). Each view's SQL fingerprint lives in `meta.view_definitions`, never in a comment.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import yaml
from psycopg import sql

from saas_analytics import funnels
from saas_analytics.config import get_settings
from saas_analytics.errors import PermanentError

log = logging.getLogger(__name__)

# Steps of each incremental layer, run in this order inside one transaction per layer.
LAYER_STEPS: dict[str, tuple[str, ...]] = {
    "staging": ("stg_files", "stg_batch", "quarantine", "events", "duplicates", "staged_files"),
    "core": (
        "core_batch", "identity", "fact_events", "core_changes", "dim_users", "dim_accounts", "account_members",
        "dim_features", "dim_documents", "dim_plans",
        "fact_subscription_events", "session_scope", "fact_sessions", "fact_daily_user_activity", "mrr_changes",
        "fact_mrr_monthly",
        # core aggregates the analytics views read (issue 10): each rebuilds only the keys core_changes affect
        "agg_daily_active_users", "agg_platform_daily_activity", "agg_daily_sessions",
        "agg_user_lifecycle", "agg_funnel_user_steps", "agg_billing_monthly", "agg_feature_users",
        # ... and for the views that read persons or person-months (issue 10, third pass; acquisition before
        # retention: its signups per month are the cohort sizes)
        "agg_acquisition_monthly", "agg_user_retention_cohorts", "agg_funnel_conversion", "agg_mrr_monthly",
        "agg_revenue_retention_cohorts",
        "watermarks",
    ),
}
# What the runs touched, kept for the data checks (meta.check_scope_*): appended to each layer's steps.
LAYER_STEPS["staging"] += ("check_scope_files",)
LAYER_STEPS["core"] += ("check_scope",)
# The data checks' scope in their transaction (`sql/checks/`, temp tables the tests join), then the pass.
CHECK_SCOPE_STEPS: tuple[str, ...] = ("check_files", "check_event_ids", "check_events", "check_person_days",
                                      "check_persons", "check_activity")
# In a full sweep these scope steps are temp views over the whole table instead (sql/checks/all_*.sql).
CHECK_FULL_VIEWS: dict[str, str] = {"check_files": "all_files", "check_event_ids": "all_event_ids",
                                    "check_events": "all_events", "check_activity": "all_activity"}
# Planner settings for one step (set local by run_steps, then back), by (layer, step). stg_batch types a batch's
# lines in parallel workers: the planner guesses a batch from the average file (a 1 M-line day is ~60 K rows to it)
# and would keep it in one backend; worker start-up is a few milliseconds (core_batch likewise: the raw lines of the
# day's staged events, joined and their objects taken in workers). check_activity and check_events read a
# few person-days or dates that may hold a million events: one bitmap heap scan reads each heap page once, an
# index scan once per event.
PARALLEL_BATCH: tuple[tuple[str, str], ...] = (("parallel_setup_cost", "0"), ("parallel_tuple_cost", "0.01"),
                                               ("min_parallel_index_scan_size", "0"))
BITMAP_SCAN: tuple[tuple[str, str], ...] = (("enable_indexscan", "off"),)
STEP_SETTINGS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("staging", "stg_batch"): PARALLEL_BATCH,
    ("core", "core_batch"): PARALLEL_BATCH,
    # each touched person-day is looked up once: a Memoize cache of their events (86 MB on a 1 M-event day) never hits
    ("core", "fact_daily_user_activity"): (("enable_memoize", "off"),),
    ("checks", "check_activity"): BITMAP_SCAN,
    ("checks", "check_events"): BITMAP_SCAN,
}
CHECK_PASSED_STEP = "check_passed"
# What a data-check run's summary counts (CheckScope's files, events, persons): the rows of these scope tables.
SCOPE_COUNTS: tuple[tuple[str, str], ...] = (("files", "check_files"), ("events", "check_events"),
                                             ("persons", "check_persons"))
# Local buffers for the checks' temp tables (allocated only as they fill): a 1 M-event day's scope is ≈ 250 MB.
CHECK_TEMP_BUFFERS = "512MB"
# A scope holding more than this share of core's events (and more than the minimum) is checked by a full sweep:
# a catch-up after downtime holds most of core, and one sweep of every table beats reading it all by key twice.
# (A big day — a quarter of core — is cheaper scoped: docs/benchmarks.md, "checks on a big day".)
CHECK_FULL_SHARE, CHECK_FULL_MIN_EVENTS = 0.5, 100_000
# Core's funnel steps, run again by the refresh after it loads sql/funnels.yml (a redefined funnel is rebuilt).
FUNNEL_REBUILD_STEPS: tuple[str, ...] = ("agg_funnel_user_steps", "agg_funnel_conversion", "agg_acquisition_monthly")
# Analytics materialized views, in refresh order.
ANALYTICS_VIEWS: tuple[str, ...] = (
    "daily_active_users", "user_retention_cohorts", "feature_adoption", "mrr_monthly",
    "platform_daily_activity", "pipeline_file_loads", "quarantine_reasons", "pipeline_run_summary",
    "revenue_retention_cohorts", "billing_monthly",
    "user_lifecycle", "funnel_user_steps", "funnel_conversion", "daily_sessions", "acquisition_monthly",
)
# Analytics tables (and views) created by migrations: only their comments come from sql/analytics/<name>.yml.
ANALYTICS_TABLES: tuple[str, ...] = (
    "pipeline_runs", "pipeline_run_stages", "ml_model_runs", "churn_risk_score_history", "churn_risk_scores",
    "churn_risk_drivers", "user_segment_history", "user_segments", "segment_profiles", "metric_anomalies",
    "insights", "file_corrections", "pipeline_quarantined_files",
)
TRANSFORM_LOCK = 4_242_002
KEY_LINE = re.compile(r"^--\s*key:\s*(.+)$", re.MULTILINE)
TEMP_TABLE_LINE = re.compile(r"^--\s*temp table:", re.MULTILINE)
GRAIN_LINE = re.compile(r"^--\s*grain:\s*(.+)$", re.MULTILINE)
PLAIN_VIEW_LINE = re.compile(r"^--\s*kind:\s*view\s*$", re.MULTILINE)


class DataTestError(PermanentError):
    """One or more `sql/tests/assert_*.sql` queries returned offending rows."""

    scope: CheckScope | None = None  # what the failing run looked at


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
    with psycopg.connect(conninfo) as conn, conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", [TRANSFORM_LOCK])
        conn.execute("set local work_mem = '256MB'")
        # A big day's batch tables (core_batch: ~400 MB at 1 M events) stay in memory, not spilled and re-read;
        # a fresh session's first temp table comes after this, and local buffers are only taken as they fill.
        conn.execute("set local temp_buffers = '1GB'")
        # The day's rows are in cache and few: index lookups into history are cheap. With the default
        # (4.0, spinning disks) the planner hashed all of core.fact_events to join a few hundred ids.
        conn.execute("set local random_page_cost = 1.1")
        return run_steps(conn, layer, LAYER_STEPS[layer], progress)


def run_steps(conn: psycopg.Connection, layer: str, names: tuple[str, ...],
              progress: Callable[[str], None] | None = None) -> list[StepResult]:
    """Run the given steps of a layer on `conn`, inside the caller's transaction."""
    say = progress or log.info
    results = []
    for name in names:
        started = time.perf_counter()
        statement = step_statement(layer, name)
        settings = STEP_SETTINGS.get((layer, name), ())
        previous = [conn.execute("select current_setting(%s)", [setting]).fetchone()[0] for setting, _ in settings]
        for setting, value in settings:
            conn.execute("select set_config(%s, %s, true)", [setting, value])
        cur = conn.execute(statement)
        rows = max(cur.rowcount, 0)
        while cur.nextset():  # a step file may hold several statements (e.g. delete, then insert)
            rows += max(cur.rowcount, 0)
        for (setting, _), value in zip(settings, previous, strict=True):
            conn.execute("select set_config(%s, %s, true)", [setting, value])
        if TEMP_TABLE_LINE.search(read_sql(layer, name)):  # statistics, so later steps plan for its real size
            conn.execute(sql.SQL("analyze {}").format(sql.Identifier(name)))
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
    """A short fingerprint of a view's SQL, kept in meta.view_definitions to detect edits."""
    return "sha256:" + hashlib.sha256(select_sql.encode()).hexdigest()[:16]


def object_docs(name: str, select_sql: str | None = None) -> dict:
    """An analytics object's comments from `sql/analytics/<name>.yml`: {'object': text, 'columns': {col: text}}."""
    path = sql_dir() / "analytics" / f"{name}.yml"
    if not path.exists():
        return {"object": None, "columns": {}}
    spec = yaml.safe_load(path.read_text()) or {}
    grain = spec.get("grain")
    if grain is None and select_sql and (match := GRAIN_LINE.search(select_sql)):
        grain = match.group(1).strip()
    text = " ".join(str(spec.get("description") or "").split())
    header = f"Grain: {grain}. " if grain else ""
    columns = {str(k): " ".join(str(v).split()) for k, v in (spec.get("columns") or {}).items()}
    return {"object": (header + text).strip() or None, "columns": columns}


def apply_comments(conn: psycopg.Connection, name: str, select_sql: str | None = None) -> int:
    """Set the object's and its columns' comments from its yml (grain + definition, as in docs/metrics.md).

    Only comments that differ are written; returns how many. A table this role does not own (created by
    another migrating role) keeps its comments, with a warning.
    """
    docs = object_docs(name, select_sql)
    kind = _relkind(conn, name)
    if kind is None or docs["object"] is None:
        return 0
    keyword = {"m": "materialized view", "v": "view"}.get(kind, "table")
    regclass = f"analytics.{name}"
    current = dict(conn.execute(
        "select attname, col_description(attrelid, attnum) from pg_attribute"
        " where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped", [regclass]).fetchall())
    current[""] = conn.execute("select obj_description(to_regclass(%s), 'pg_class')", [regclass]).fetchone()[0]
    statements = []
    if current.get("") != docs["object"]:
        statements.append(sql.SQL("comment on {} {} is {}").format(
            sql.SQL(keyword), sql.Identifier("analytics", name), sql.Literal(docs["object"])))
    statements += [
        sql.SQL("comment on column {} is {}").format(sql.Identifier("analytics", name, column), sql.Literal(text))
        for column, text in docs["columns"].items() if current.get(column) != text
    ]
    try:
        for statement in statements:
            conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege as exc:
        log.warning("analytics.%s keeps its comments: %s", name, str(exc).strip())
        return 0
    return len(statements)


def refresh_analytics(
    conninfo: str, reader_role: str | None = None, progress: Callable[[str], None] | None = None
) -> list[StepResult]:
    """Create each analytics view (or re-create it when its SQL changed), else refresh it concurrently."""
    say = progress or log.info
    reader_role = reader_role or get_settings().reader_role
    results = []
    funnel_steps = funnels.load_funnels()  # a bad sql/funnels.yml stops here, before any view changes
    with psycopg.connect(conninfo, autocommit=True) as conn:
        # The transforms' lock: two runs creating the views at once would collide in pg_type, and a
        # refresh must not read a layer half-way through a correction (`saas-analytics files replace`).
        conn.execute("select pg_advisory_lock(%s)", [TRANSFORM_LOCK])
        started = time.perf_counter()
        rows = funnels.sync_funnel_steps(conn, funnel_steps)
        results.append(StepResult("core.funnel_steps", rows, time.perf_counter() - started))
        say(f"core.funnel_steps: {rows} steps loaded from sql/funnels.yml")
        results += rebuild_redefined_funnels(conn, say)
        for name in ANALYTICS_VIEWS:
            started = time.perf_counter()
            action = ensure_view(conn, name, reader_role, refresh=True)
            count = sql.SQL("select count(*) from {}").format(sql.Identifier("analytics", name))
            rows = conn.execute(count).fetchone()[0]
            results.append(StepResult(f"analytics.{name}", rows, time.perf_counter() - started))
            say(f"analytics.{name}: {action}, {rows:,} rows in {results[-1].seconds:.2f}s")
        for name in ANALYTICS_TABLES:
            apply_comments(conn, name)
    return results


def rebuild_redefined_funnels(conn: psycopg.Connection, say: Callable[[str], None]) -> list[StepResult]:
    """Run core's funnel steps with no changes: they rebuild the funnels whose definition differs from the built one."""
    with conn.transaction():
        conn.execute("create temp table core_changes (message_id text, user_id text, previous_user_id text,"
                     " event_type text, event_name text, event_at timestamptz, event_date date) on commit drop")
        return run_steps(conn, "core", FUNNEL_REBUILD_STEPS, say)


def views_current(conn: psycopg.Connection) -> bool:
    """True when every analytics view exists and was created from its current SQL (a refresh would only refresh)."""
    from saas_analytics.queries import scalar

    for name in ANALYTICS_VIEWS:
        if _relkind(conn, name) is None or \
                scalar(conn, "view_fingerprint", {"name": name}) != definition_hash(read_sql("analytics", name)):
            return False
    return True


def ensure_view(conn: psycopg.Connection, name: str, reader_role: str | None = None, refresh: bool = False) -> str:
    """Bring one analytics view up to date (create it, re-create it when its SQL changed, refresh it)."""
    from saas_analytics.queries import scalar

    select_sql = read_sql("analytics", name)
    fingerprint = definition_hash(select_sql)
    current = scalar(conn, "view_fingerprint", {"name": name})
    ident = sql.Identifier("analytics", name)
    plain = bool(PLAIN_VIEW_LINE.search(select_sql))
    if current == fingerprint:
        if refresh and not plain:
            conn.execute(sql.SQL("refresh materialized view concurrently {}").format(ident))
        apply_comments(conn, name, select_sql)
        return "refreshed" if not plain else "current (plain view)"
    existed = conn.execute("select to_regclass(%s) is not null", [f"analytics.{name}"]).fetchone()[0]
    reader_role = reader_role or get_settings().reader_role
    with conn.transaction():
        conn.execute(sql.SQL("drop view if exists {}").format(ident) if _relkind(conn, name) == "v"
                     else sql.SQL("drop materialized view if exists {}").format(ident))
        if plain:
            conn.execute(sql.SQL("create view {} as ").format(ident) + sql.SQL(select_sql))
        else:
            key = view_key(select_sql, name)
            conn.execute(sql.SQL("create materialized view {} as ").format(ident) + sql.SQL(select_sql))
            conn.execute(
                sql.SQL("create unique index {} on {} ({})").format(
                    sql.Identifier(f"{name}_key"), ident, sql.SQL(", ").join(map(sql.Identifier, key))
                )
            )
        apply_comments(conn, name, select_sql)
        conn.execute(
            "insert into meta.view_definitions (name, fingerprint) values (%s, %s) on conflict (name) do update"
            " set fingerprint = excluded.fingerprint, created_at = now()", [name, fingerprint])
        role_exists = conn.execute("select 1 from pg_roles where rolname = %s", [reader_role]).fetchone()
        if role_exists:
            conn.execute(sql.SQL("grant select on {} to {}").format(ident, sql.Identifier(reader_role)))
    return "created" if not existed else "re-created (SQL changed)"


def _relkind(conn: psycopg.Connection, name: str) -> str | None:
    """'m' (materialized view), 'v' (view), 'r' (table) or None for analytics.<name>."""
    row = conn.execute("select relkind from pg_class where oid = to_regclass(%s)", [f"analytics.{name}"]).fetchone()
    return row[0] if row else None


def data_test_files(prefixes: tuple[str, ...]) -> list[Path]:
    """The `sql/tests/assert_<prefix>_*.sql` files for the given layer prefixes."""
    return sorted(p for p in (sql_dir() / "tests").glob("assert_*.sql") if p.stem.split("_")[1] in prefixes)


@dataclass(frozen=True)
class CheckScope:
    """What one data-check run looked at: a full sweep or the scope the runs recorded, and why."""

    mode: str  # "full" or "scoped"
    reason: str
    files: int | None = 0  # None: no test of the stage reads it, so it was not gathered
    events: int | None = 0
    persons: int | None = 0
    person_days: int = 0
    dates: int = 0
    first_date: str | None = None
    last_date: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # wall seconds: "scope" (its steps), then each test


def run_data_tests(
    conninfo: str, prefixes: tuple[str, ...], progress: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Run the data tests over all history (a full sweep); raise DataTestError naming each failing test."""
    return run_checks(conninfo, prefixes, progress, full_reason="all history, as asked")[0]


def run_checks(
    conninfo: str, prefixes: tuple[str, ...], progress: Callable[[str], None] | None = None,
    stage: str | None = None, full_reason: str | None = None, scope_stages: tuple[str, ...] = (),
) -> tuple[dict[str, int], CheckScope]:
    """Run the data tests on what changed since `stage` last passed (or on everything); raise DataTestError.

    One transaction, under a shared transforms' lock (no layer or correction writes meanwhile): the
    `sql/checks/` steps fill the temp tables the tests join (check_files, check_events, check_person_days,
    check_persons; only those the stage's tests read: `scope_steps_read`) from the scope the layers recorded
    above the stage's watermark — or with everything
    when `full_reason` is given or the stage never passed. When every test passes, the watermark moves up
    and the scope rows all of `scope_stages` have passed are deleted; a failure leaves both in place, so
    the next run checks the same rows again.
    """
    from saas_analytics import queries

    say = progress or log.info
    failures, counts = [], {}
    stage = stage or "check_" + "_".join(prefixes)
    started = time.perf_counter()
    with psycopg.connect(conninfo) as conn, conn.transaction():
        conn.execute("select pg_advisory_xact_lock_shared(%s)", [TRANSFORM_LOCK])
        conn.execute("set local work_mem = '256MB'")
        # the scope's temp tables (a big day's: a few hundred MB) stay in memory instead of being written out
        # 8 MB at a time (the setting takes effect only before the session's first temp table: check_mode)
        conn.execute("select set_config('temp_buffers', %s, true)", [CHECK_TEMP_BUFFERS])
        bounds = queries.fetch_one(conn, "check_scope_bounds", {"stage": stage})
        # a million-event day is checked scoped (its cost follows the scope); a catch-up holding most of core is swept
        if full_reason is None and bounds["checked_seq"] is None:
            full_reason = f"first check of {stage}: nothing recorded what earlier runs touched"
        elif full_reason is None and bounds["scope_events"] > max(CHECK_FULL_SHARE * bounds["core_events"],
                                                                  CHECK_FULL_MIN_EVENTS):
            full_reason = (f"the scope holds about {bounds['scope_events']:,} of about {bounds['core_events']:,}"
                           " core events (a catch-up): one sweep of everything is cheaper than reading them by key")
        # Scoped: index lookups or hash joins, as the analyzed scope temp tables' sizes call for. Full: every join
        # reads whole tables, and the planner (under-estimating rows per person-day) would otherwise loop a
        # million index lookups.
        conn.execute("set local enable_nestloop = off" if full_reason else "set local random_page_cost = 1.1")
        if full_reason:  # nor a merge join over an index scan: that reads the heap once per row, out of order
            conn.execute("set local enable_mergejoin = off")
        conn.execute(
            "create temp table check_mode on commit drop as select %s::text as stage, %s::boolean as full_sweep,"
            " %s::bigint as after_seq, %s::bigint as upto_seq, %s::text[] as scope_stages",
            [stage, full_reason is not None, bounds["checked_seq"] or 0, bounds["upto_seq"], list(scope_stages)])
        tests = data_test_files(prefixes)
        built = scope_steps_read(tests, full_reason is not None)
        for name in built:
            if full_reason is not None and name in CHECK_FULL_VIEWS:
                conn.execute(sql.SQL("create temp view {} as ").format(sql.Identifier(name)) + sql.SQL(
                    read_sql("checks", CHECK_FULL_VIEWS[name]).strip().rstrip(";")))
            else:
                run_steps(conn, "checks", (name,), log.debug)  # with its STEP_SETTINGS
        scope = _scope_of(scope_summary(conn, built), full_reason)
        say(f"data checks ({scope.mode}): {scope.reason}")
        seconds = {"scope": round(time.perf_counter() - started, 3)}
        for path in tests:
            began = time.perf_counter()
            cur = conn.execute(path.read_text().encode())
            rows = cur.fetchall()
            counts[path.stem] = len(rows)
            seconds[path.stem] = round(time.perf_counter() - began, 3)
            say(f"{path.stem}: {'ok' if not rows else f'FAILED ({len(rows)} rows)'} in {seconds[path.stem]:.2f}s")
            if rows:
                columns = [c.name for c in cur.description]
                sample = [dict(zip(columns, r, strict=True)) for r in rows[:3]]
                failures.append(f"{path.relative_to(sql_dir().parent)} returned {len(rows)} rows, e.g. {sample}")
        scope.seconds.update(seconds)  # the scope steps' and each test's seconds, for the stage's detail
        if failures:
            error = DataTestError(f"data tests failed ({scope.mode}: {scope.reason}); the scope stays for the next"
                                  " run:\n" + "\n".join(failures))
            error.scope = scope
            raise error
        run_steps(conn, "checks", (CHECK_PASSED_STEP,), log.debug)
    return counts, scope


def scope_steps_read(tests: list[Path], full: bool) -> tuple[str, ...]:
    """The scope steps (CHECK_SCOPE_STEPS, in order) that the tests read by name, and the steps those read.

    The analytics tests read only check_person_days: a big day's million events (check_event_ids,
    check_events, check_activity) are gathered only for the core tests that read them. A name in a comment
    builds a step for nothing, never the other way round.
    """
    texts = [path.read_text() for path in tests]
    wanted: set[str] = set()
    for name in reversed(CHECK_SCOPE_STEPS):  # a step reads only the steps before it
        if any(re.search(rf"\b{name}\b", text) for text in texts):
            wanted.add(name)
            texts.append(read_sql("checks", CHECK_FULL_VIEWS[name] if full and name in CHECK_FULL_VIEWS else name))
    return tuple(name for name in CHECK_SCOPE_STEPS if name in wanted)


def scope_summary(conn: psycopg.Connection, built: tuple[str, ...]) -> dict:
    """What a data-check run looks at, counted in the scope tables it built: files, events and persons (None when
    no test of the stage reads them, so they were not gathered), person-days and their dates (none when not built)."""
    from saas_analytics import queries

    summary: dict = {key: None for key, _ in SCOPE_COUNTS}
    summary.update(person_days=0, dates=0, first_date=None, last_date=None)
    for key, name in SCOPE_COUNTS:
        if name in built:
            summary[key] = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(name))).fetchone()[0]
    if "check_person_days" in built:
        summary.update(queries.fetch_one(conn, "check_scope_person_days"))
    return summary


def _scope_of(summary: dict, full_reason: str | None) -> CheckScope:
    """The CheckScope of a run, with a one-line reason an operator can read in the stage's detail."""
    counts = {k: None if summary[k] is None else int(summary[k])
              for k in ("files", "events", "persons", "person_days", "dates")}
    first, last = (str(summary[k]) if summary[k] is not None else None for k in ("first_date", "last_date"))
    if full_reason is not None:
        return CheckScope("full", f"full sweep of all history ({full_reason})", **counts,
                          first_date=first, last_date=last)
    if not any(counts.values()):
        reason = "nothing new since the checks last passed: no file, event or person-day to check"
    else:
        dates = f", dates {first} … {last}" if first else ""
        parts = [f"{counts[key]:,} {label}(s)" for key, label in (("files", "file"), ("events", "event"),
                                                                  ("persons", "person")) if counts[key] is not None]
        reason = (f"scoped to what changed since the checks last passed: {', '.join(parts + [''])}"
                  f"{counts['person_days']:,} person-day(s) on {counts['dates']} date(s){dates}")
    return CheckScope("scoped", reason, **counts, first_date=first, last_date=last)
