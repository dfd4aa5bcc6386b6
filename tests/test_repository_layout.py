"""Guards that keep one definition per number and one place per job: every SQL file is run, no metric
SQL hides in Python strings, every analytics object and column carries a real description."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from saas_analytics import transform

REPO = Path(__file__).resolve().parents[1]
SQL = REPO / "sql"
PYTHON = sorted([*(REPO / "src").rglob("*.py"), *(REPO / "dags").rglob("*.py")])
WAREHOUSE_SCHEMAS = ("raw", "staging", "core", "analytics", "ml", "meta")
# a select that reads a warehouse table, e.g. "select x from core.fact_events" (across lines, in a string)
SELECT_FROM = re.compile(
    r"\bselect\b(?:(?!\bselect\b)[\s\S]){0,400}?\b(?:from|join)\s+(" + "|".join(WAREHOUSE_SCHEMAS) + r")\.(\w+)",
    re.IGNORECASE)
# the loader's registry and lock bookkeeping (which files and lines are loaded) is the one exception
ALLOWED = {("src/saas_analytics/loader.py", "raw")}
# Alembic revisions are frozen history (DDL with view definitions), not queries
FROZEN = "src/saas_analytics/migrations/"


def _stems(folder: str, suffix: str = ".sql") -> set[str]:
    return {p.stem for p in (SQL / folder).glob(f"*{suffix}")}


def _python_strings() -> set[str]:
    """Every short string literal in the library and the DAGs (where query names are used)."""
    found = set()
    for path in PYTHON:
        found |= set(re.findall(r"[\"']([a-z][a-z0-9_]*)[\"']", path.read_text()))
    return found


def test_every_layer_file_is_a_step_of_the_runner() -> None:
    for layer in ("staging", "core"):
        assert _stems(layer) == set(transform.LAYER_STEPS[layer]), f"sql/{layer} vs transform.LAYER_STEPS"


def test_every_check_scope_file_is_used() -> None:
    from saas_analytics import dag_tasks

    used = {*transform.CHECK_SCOPE_STEPS, *transform.CHECK_FULL_VIEWS.values(), transform.CHECK_PASSED_STEP,
            *(file for _, _, file in dag_tasks.OPERATOR_SCOPES.values())}
    assert _stems("checks") == used, "sql/checks vs transform.CHECK_SCOPE_STEPS and dag_tasks.OPERATOR_SCOPES"


def test_every_analytics_file_is_an_analytics_object() -> None:
    assert _stems("analytics") == set(transform.ANALYTICS_VIEWS), "sql/analytics/*.sql vs transform.ANALYTICS_VIEWS"
    documented = _stems("analytics", ".yml")
    assert documented == set(transform.ANALYTICS_VIEWS) | set(transform.ANALYTICS_TABLES), \
        "each analytics object has sql/analytics/<name>.yml, and each yml names an object the runner manages"
    others = {p.name for p in (SQL / "analytics").iterdir()} - {f"{n}.sql" for n in transform.ANALYTICS_VIEWS} \
        - {f"{n}.yml" for n in documented}
    assert not others, f"files in sql/analytics the runner never reads: {sorted(others)}"


def test_every_named_query_is_used_and_every_used_name_exists() -> None:
    queries = _stems("queries")
    unused = queries - _python_strings()
    assert not unused, f"sql/queries files no Python code names: {sorted(unused)}"
    called = set()
    for path in PYTHON:
        called |= set(re.findall(r"\b(?:run_query|fetch_all|fetch_one|scalar)\(\s*conn,\s*\"(\w+)\"", path.read_text()))
    assert called and called <= queries, f"named queries without a file: {sorted(called - queries)}"
    others = {p.name for p in (SQL / "queries").iterdir()} - {f"{n}.sql" for n in queries} - {".sqlfluff"}
    assert not others, sorted(others)


def test_named_queries_have_a_grain_line() -> None:
    for path in sorted((SQL / "queries").glob("*.sql")):
        assert path.read_text().startswith("-- grain: "), f"{path.relative_to(REPO)} needs a '-- grain:' first line"


def test_no_python_file_selects_from_a_warehouse_table() -> None:
    offenders = []
    for path in PYTHON:
        rel = str(path.relative_to(REPO))
        if rel.startswith(FROZEN):
            continue
        for match in SELECT_FROM.finditer(path.read_text()):
            if (rel, match.group(1).lower()) not in ALLOWED:
                line = path.read_text()[:match.start()].count("\n") + 1
                offenders.append(f"{rel}:{line} reads {match.group(1)}.{match.group(2)}")
    assert not offenders, "metric SQL belongs in sql/queries (run_query): " + "; ".join(offenders)


@pytest.mark.parametrize("source", [
    'conn.execute("select max(activity_date) from core.fact_daily_user_activity")',
    'Q = """\nselect\n    user_id,\n    count(*)\nfrom analytics.daily_active_users\n"""',
    "x = 'select a from staging.events as e join raw.events as r on true'",
])
def test_the_select_guard_catches_metric_sql(source: str) -> None:
    assert SELECT_FROM.search(source)


@pytest.mark.parametrize("source", [
    'conn.execute(sql.SQL("select count(*) from {}").format(ident))',
    'conn.execute("select pg_advisory_xact_lock(%s)", [LOCK])',
    '"insert into analytics.pipeline_run_stages (run_id) values (%s)"',
])
def test_the_select_guard_lets_generic_statements_pass(source: str) -> None:
    assert not SELECT_FROM.search(source)


def test_every_analytics_column_has_a_real_comment(demo_warehouse: str) -> None:
    with psycopg.connect(demo_warehouse) as conn:
        objects = conn.execute("""
            select c.relname, obj_description(c.oid, 'pg_class')
            from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
            where n.nspname = 'analytics' and c.relkind in ('r', 'v', 'm')""").fetchall()
        columns = conn.execute("""
            select c.relname, a.attname, col_description(c.oid, a.attnum)
            from pg_class as c
            join pg_namespace as n on n.oid = c.relnamespace
            join pg_attribute as a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            where n.nspname = 'analytics' and c.relkind in ('r', 'v', 'm')""").fetchall()
    names = {name for name, _ in objects}
    assert set(transform.ANALYTICS_VIEWS) | set(transform.ANALYTICS_TABLES) == names
    bad = [name for name, text in objects if not text or not text.startswith("Grain: ") or "sha256:" in text]
    assert not bad, f"analytics objects without a 'Grain: …' description: {bad}"
    missing = [f"{t}.{c}" for t, c, text in columns if not (text or "").strip()]
    assert not missing, f"columns without a comment (add them to sql/analytics/<object>.yml): {missing}"


def test_view_fingerprints_live_in_meta_not_in_comments(demo_warehouse: str) -> None:
    with psycopg.connect(demo_warehouse) as conn:
        stored = dict(conn.execute("select name, fingerprint from meta.view_definitions").fetchall())
    assert set(stored) == set(transform.ANALYTICS_VIEWS)
    for name, fingerprint in stored.items():
        assert fingerprint == transform.definition_hash(transform.read_sql("analytics", name))
