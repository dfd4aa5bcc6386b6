"""The pipeline's stages as the DAG calls them: each records its rows and seconds in the run audit."""

from __future__ import annotations

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
from saas_analytics.config import WAREHOUSE_CONN_ID, get_settings

CORE_TEST_LAYERS = ("raw", "staging", "core")
ANALYTICS_TEST_LAYERS = ("analytics",)
# Stages every successful run records; a run missing one of them (a task upstream failed) failed.
REQUIRED_STAGES = ("load", "staging", "core", "check_raw_staging_core", "refresh_analytics", "check_analytics")


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
        rec["rows"] = sum(s.rows for s in steps if not s.name.endswith(("_batch", "_files", "watermarks")))
        rec["detail"] = {s.name: s.rows for s in steps}
    return rec["detail"]


def check(conninfo: str, run_id: str, layers: tuple[str, ...]) -> dict:
    """Run the `sql/tests/assert_<layer>_*.sql` data tests; any offending row fails the stage."""
    with recorded_stage(conninfo, run_id, "check_" + "_".join(layers)) as rec:
        rec["detail"] = transform.run_data_tests(conninfo, layers)
        rec["rows"] = len(rec["detail"])
    return rec["detail"]


def refresh(conninfo: str, run_id: str) -> dict:
    """Refresh (or create) the analytics materialized views."""
    with recorded_stage(conninfo, run_id, "refresh_analytics") as rec:
        steps = transform.refresh_analytics(conninfo)
        rec["rows"] = sum(s.rows for s in steps)
        rec["detail"] = {s.name: {"rows": s.rows, "seconds": round(s.seconds, 3)} for s in steps}
    return rec["detail"]


RUN_SUMMARY_SQL = """
with
files as (
    select f.file_id, f.lines_read
    from raw.load_files as f
    inner join raw.load_batches as b on f.batch_id = b.batch_id
    where b.run_id = %(run_id)s
),
staged as (
    select s.*
    from staging.staged_files as s
    inner join files on s.file_id = files.file_id
)
select
    (select count(*) from files) as files_loaded,
    (select coalesce(sum(lines_read), 0) from files) as lines_read,
    (select coalesce(sum(valid_events), 0) from staged) as events_loaded,
    (select coalesce(sum(quarantined), 0) from staged) as quarantined,
    (select coalesce(sum(duplicates), 0) from staged) as duplicates,
    (select coalesce(sum(seconds), 0) from analytics.pipeline_run_stages where run_id = %(run_id)s) as seconds
"""


def run_status(conn: psycopg.Connection, run_id: str) -> tuple[str, list[str]]:
    """`success`, or `failed` with the stages that failed or never ran."""
    stages = dict(conn.execute(
        "select stage, status from analytics.pipeline_run_stages where run_id = %s", [run_id]).fetchall())
    problems = [f"{name} failed" for name, status in sorted(stages.items()) if status != "success"]
    problems += [f"{name} did not run" for name in REQUIRED_STAGES if name not in stages]
    return ("failed" if problems else "success"), problems


def run_reason(conn: psycopg.Connection, run_id: str, problems: list[str]) -> str | None:
    """One line: why the run failed (the first failed stage's error), or what it warns about."""
    rows = conn.execute(
        "select stage, status, detail ->> 'error', detail ->> 'warning' from analytics.pipeline_run_stages"
        " where run_id = %s order by recorded_at", [run_id]).fetchall()
    for stage, status, error, _ in rows:
        if status != "success":
            return f"{stage}: {errors.one_line(error or 'failed')}"
    if problems:
        return problems[0]
    warnings = [f"{stage}: {warning}" for stage, _, _, warning in rows if warning]
    return "; ".join(warnings) or None


def record_run(conninfo: str, run_id: str, dag_id: str, logical_date: datetime | None,
               started_at: datetime | None) -> dict:
    """Upsert this run's one-line summary into analytics.pipeline_runs; raise RunFailed for a failed run.

    A run that succeeded but set something aside (a quarantined landing file) is recorded with status
    `warning` and the reason; Airflow shows it as a success.
    """
    with psycopg.connect(conninfo, autocommit=True) as conn:
        status, problems = run_status(conn, run_id)
        reason = run_reason(conn, run_id, problems)
        if status == "success" and reason:
            status = "warning"
        cur = conn.execute(RUN_SUMMARY_SQL, {"run_id": run_id})
        summary = dict(zip([c.name for c in cur.description], cur.fetchone(), strict=True))
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
