"""The pipeline's stages as the DAG calls them: each records its rows and seconds in the run audit."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from saas_analytics import errors, loader, transform
from saas_analytics import queries as run_queries
from saas_analytics.config import WAREHOUSE_CONN_ID, get_settings

CORE_TEST_LAYERS = ("raw", "staging", "core")
ANALYTICS_TEST_LAYERS = ("analytics",)
# The audit stage of each data-test run is named after its DAG task. Which stages a successful run
# needs, and so a run's status, is defined once: sql/analytics/pipeline_run_summary.sql.
CHECK_STAGES = {CORE_TEST_LAYERS: "data_tests_core", ANALYTICS_TEST_LAYERS: "data_tests_analytics"}


class RunFailed(RuntimeError):
    """The run is recorded as failed (a stage failed or never ran)."""


def conninfo_from_airflow(conn_id: str = WAREHOUSE_CONN_ID) -> str:
    """The warehouse connection string, from Airflow's connection `conn_id` (AIRFLOW_CONN_* or the UI)."""
    from airflow.sdk import Connection

    conn = Connection.get(conn_id)
    params = {"host": conn.host, "port": conn.port, "user": conn.login, "password": conn.password,
              "dbname": conn.schema}
    return make_conninfo(**{k: v for k, v in params.items() if v not in (None, "")})


@contextmanager
def recorded_stage(conninfo: str, run_id: str, stage: str) -> Iterator[dict]:
    """Time a stage and upsert its outcome (success or failed) into analytics.pipeline_run_stages."""
    started = time.perf_counter()
    record: dict = {"rows": 0, "detail": {}}
    status = "failed"
    try:
        yield record
        status = "success"
    except Exception as exc:
        record["detail"] = {**record["detail"], "error": str(exc)[:2000]}
        if isinstance(exc, errors.PermanentError):  # retrying cannot help: Airflow must not retry it
            raise errors.no_retry(exc) from exc
        raise
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(
                "insert into analytics.pipeline_run_stages (run_id, stage, status, rows_affected, seconds, detail)"
                " values (%s, %s, %s, %s, %s, %s) on conflict (run_id, stage) do update set"
                " status = excluded.status, rows_affected = excluded.rows_affected, seconds = excluded.seconds,"
                " detail = excluded.detail, recorded_at = clock_timestamp()",
                [run_id, stage, status, record["rows"], round(time.perf_counter() - started, 3),
                 json.dumps(record["detail"], default=str)],
            )


def load(conninfo: str, run_id: str, landing_dir: Path | None = None) -> dict:
    """Load every settled landing file not yet loaded; bad files are quarantined, the others go on."""
    landing_dir = landing_dir or get_settings().landing_dir
    with recorded_stage(conninfo, run_id, "load") as rec:
        report = loader.load_landing(conninfo, landing_dir, run_id=run_id, fail_on_error=False)
        rec["rows"] = report.lines_loaded + report.lines_rejected
        rec["detail"] = {"batch_id": report.batch_id, "files_loaded": len(report.loaded),
                         "lines_rejected": report.lines_rejected,
                         "quarantined": [asdict(f) for f in report.failed],
                         "waiting": [f.file_name for f in report.waiting]}
        if report.failed:
            rec["detail"]["warning"] = loader_warning(report)
    return {"batch_id": report.batch_id, "files_loaded": len(report.loaded), "lines": rec["rows"],
            "quarantined": len(report.failed), "waiting": len(report.waiting)}


def loader_warning(report: loader.LoadReport) -> str:
    """One line about the files the load set aside (the run goes on with the others)."""
    names = ", ".join(f.file_name for f in report.failed[:3]) + (", …" if len(report.failed) > 3 else "")
    return (f"{len(report.failed)} landing file(s) quarantined ({names}): {errors.one_line(report.failed[0].message)}"
            " — see `saas-analytics files list`")


def build_layer(conninfo: str, run_id: str, layer: str) -> dict:
    """Run one incremental layer (staging or core) in one transaction."""
    with recorded_stage(conninfo, run_id, layer) as rec:
        steps = transform.run_layer(conninfo, layer)
        rec["rows"] = sum(s.rows for s in steps
                          if not s.name.endswith(("_batch", "_files", "watermarks", "check_scope")))
        rec["detail"] = {s.name: s.rows for s in steps}
    return rec["detail"]


def sql_fingerprint(*patterns: str) -> str:
    """A short hash of the SQL (and YAML) files under sql/ matching the glob patterns: what shapes a stage."""
    digest = hashlib.sha256()
    root = transform.sql_dir()
    for path in sorted(p for pattern in patterns for p in root.glob(pattern)):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def warehouse_state(conn: psycopg.Connection, *extra: object) -> str:
    """A fingerprint of what runs can change (sql/queries/warehouse_state.sql) plus `extra` (code, settings)."""
    parts = [str(run_queries.scalar(conn, "warehouse_state")), *map(str, extra)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def unchanged_since(conn: psycopg.Connection, stage: str, state: str) -> dict | None:
    """The latest run of `stage` ({run_id, status, state}) when it succeeded and saw this same state, else None."""
    row = run_queries.fetch_one(conn, "last_stage_state", {"stage": stage})
    return row if row and row["status"] == "success" and row["state"] == state else None


def check(conninfo: str, run_id: str, layers: tuple[str, ...], skip_unchanged: bool = False,
          full: bool = False) -> dict:
    """Run the `sql/tests/assert_<layer>_*.sql` data tests; any offending row fails the stage.

    The tests look at what the runs touched since this stage last passed (the files staged, the core
    events and person-days rebuilt: `meta.check_scope_*`), or at everything in a full sweep: with `full`
    (the DAG's weekly sweep, DATA_CHECKS_FULL_WEEKDAY), DATA_CHECKS_FULL (`saas-analytics run
    --full-checks`), without `skip_unchanged` (a check called by hand), or on the stage's first run. With
    `skip_unchanged` (the DAG's runs), when nothing they read changed since the stage last passed (same
    `warehouse_state`, same test SQL) they are skipped altogether. The stage's detail says which mode ran
    and what the scope held.
    """
    stage = CHECK_STAGES.get(layers) or "check_" + "_".join(layers)
    settings = get_settings()
    reason = ("DATA_CHECKS_FULL is set (saas-analytics run --full-checks)" if settings.data_checks_full
              else "the weekly full sweep (DATA_CHECKS_FULL_WEEKDAY)" if full
              else "checks run by hand, without the DAG's skip rules" if not skip_unchanged else None)
    with recorded_stage(conninfo, run_id, stage) as rec:
        with psycopg.connect(conninfo) as conn:
            state = warehouse_state(conn, sql_fingerprint("tests/*.sql", "checks/*.sql", "analytics/*.sql",
                                                          "funnels.yml"))
            last = run_queries.fetch_one(conn, "last_stage_state", {"stage": stage})
            if reason is None and last and last["status"] == "failed" and last["mode"] == "full":
                reason = f"the full sweep of run {last['run_id']} failed: sweeping again until it passes"
            previous = None if reason else unchanged_since(conn, stage, state)
        if previous is not None:
            rec["detail"] = {"state": state, "mode": "skipped",
                             "skipped": f"nothing changed since run {previous['run_id']} passed"}
            return rec["detail"]
        rec["detail"] = {"state": state, "mode": "full" if reason else "scoped"}
        try:
            counts, scope = transform.run_checks(conninfo, layers, stage=stage, full_reason=reason,
                                                     scope_stages=tuple(CHECK_STAGES.values()))
        except transform.DataTestError as exc:  # the detail says what was checked, and keeps the error
            if exc.scope is not None:
                rec["detail"] = {**rec["detail"], "mode": exc.scope.mode, "scope": asdict(exc.scope)}
            raise
        rec["rows"] = len(counts)
        rec["detail"] = {**counts, "state": state, "mode": scope.mode, "scope": asdict(scope)}
    return rec["detail"]


def refresh(conninfo: str, run_id: str, skip_unchanged: bool = False) -> dict:
    """Refresh (or create) the analytics materialized views.

    With `skip_unchanged` (the DAG's runs) the refresh is skipped when nothing the views read changed:
    the same `warehouse_state` (core's watermark, file registry, staged files) and the same analytics
    SQL and funnels as at the stage's latest success, every view present and created from its SQL.
    Edits made by hand in core are not seen by the fingerprint: refresh without it after those.
    """
    with recorded_stage(conninfo, run_id, "refresh_analytics") as rec:
        with psycopg.connect(conninfo) as conn:
            state = warehouse_state(conn, sql_fingerprint("analytics/*", "funnels.yml"))
            previous = unchanged_since(conn, "refresh_analytics", state) \
                if skip_unchanged and transform.views_current(conn) else None
        if previous is not None:
            rec["detail"] = {"state": state, "skipped": f"nothing changed since run {previous['run_id']}"}
            return rec["detail"]
        steps = transform.refresh_analytics(conninfo)
        rec["rows"] = sum(s.rows for s in steps)
        rec["detail"] = {s.name: {"rows": s.rows, "seconds": round(s.seconds, 3)} for s in steps}
        rec["detail"]["state"] = state
    return rec["detail"]


SUMMARY_COLUMNS = ("files_loaded", "lines_read", "events_loaded", "quarantined", "duplicates", "seconds")


def run_summary(conn: psycopg.Connection, run_id: str) -> dict | None:
    """The run's row of analytics.pipeline_run_summary (status, failed and missing stages, totals)."""
    transform.ensure_view(conn, "pipeline_run_summary")
    return run_queries.fetch_one(conn, "pipeline_run_status", {"run_id": run_id})


def run_status(conn: psycopg.Connection, run_id: str) -> tuple[str, list[str]]:
    """`success`, or `failed` with the stages that failed or never ran."""
    return status_of(run_summary(conn, run_id))


def status_of(row: dict | None) -> tuple[str, list[str]]:
    """`success`, or `failed` with the problems, from a run's pipeline_run_summary row (None: no stage ran)."""
    if row is None:
        return "failed", ["no stage ran"]
    problems = [f"{name} failed" for name in row["failed_stages"]]
    problems += [f"{name} did not run" for name in row["missing_stages"]]
    return ("failed" if problems else "success"), problems


def record_run(conninfo: str, run_id: str, dag_id: str, logical_date: datetime | None,
               started_at: datetime | None) -> dict:
    """Upsert this run's one-line summary into analytics.pipeline_runs; raise RunFailed for a failed run.

    A run that succeeded but set something aside (a quarantined landing file) is recorded with status
    `warning` and the reason; Airflow shows it as a success.
    """
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = run_summary(conn, run_id)
        status, problems = status_of(row)
        row = row or {}
        summary = {k: row.get(k, 0) for k in SUMMARY_COLUMNS}
        reason = row.get("reason") or (problems[0] if problems else None)
        if status == "success" and row.get("status") == "warning":
            status = "warning"
        conn.execute(
            "insert into analytics.pipeline_runs (run_id, dag_id, logical_date, started_at, finished_at, status,"
            " files_loaded, lines_read, events_loaded, quarantined, duplicates, seconds, reason)"
            " values (%(run_id)s, %(dag_id)s, %(logical_date)s, coalesce(%(started_at)s, now()), clock_timestamp(),"
            " %(status)s, %(files_loaded)s, %(lines_read)s, %(events_loaded)s, %(quarantined)s, %(duplicates)s,"
            " %(seconds)s, %(reason)s)"
            " on conflict (run_id) do update set finished_at = excluded.finished_at, status = excluded.status,"
            " files_loaded = excluded.files_loaded, lines_read = excluded.lines_read,"
            " events_loaded = excluded.events_loaded, quarantined = excluded.quarantined,"
            " duplicates = excluded.duplicates, seconds = excluded.seconds, reason = excluded.reason",
            {**summary, "run_id": run_id, "dag_id": dag_id, "logical_date": logical_date,
             "started_at": started_at, "status": status, "reason": reason},
        )
    if problems:
        raise RunFailed(f"run {run_id} recorded as failed: {reason}")
    return {k: (float(v) if k == "seconds" else int(v)) for k, v in summary.items()}
