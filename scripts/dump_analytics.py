"""Dump every analytics object of a fresh demo-shaped warehouse to CSV, to prove a refactor changes no number.

    .venv/bin/python scripts/dump_analytics.py OUT_DIR                     # write OUT_DIR/<object>.csv
    .venv/bin/python scripts/dump_analytics.py --compare BEFORE AFTER      # byte-identical per object?

It starts a throw-away embedded PostgreSQL, applies the migrations, simulates the tests' demo data
(SimulationConfig(days=90, users=800, seed=42)), runs the pipeline as tests/pipeline_helpers does plus
the ML tasks, and writes each relation in schema `analytics` sorted by all its columns. Columns that
hold wall-clock times or durations (they differ on every run by nature) are left out and listed in
`_skipped.txt`; `--compare` leaves them out of both sides too, then compares the files byte for byte.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# wall-clock or timing columns: never equal between two runs
VOLATILE = {"trained_at", "started_at", "finished_at", "recorded_at", "seconds", "created_at",
            "loaded_at", "staged_at", "load_seconds"}
# per-object volatile columns: a stage's detail holds per-step seconds
VOLATILE_IN = {"pipeline_run_stages": {"detail"}}


def main(out_dir: Path) -> None:
    """Build the demo warehouse and write the CSVs."""
    tmp = Path(tempfile.mkdtemp(prefix="saas-dump-"))
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(WAREHOUSE_PGDATA=str(tmp / "postgres"), DATA_DIR=str(tmp / "data"),
                      AIRFLOW_HOME=str(tmp / "airflow"), SAAS_PROJECT_DIR=str(ROOT),
                      LANDING_SETTLE_SECONDS="0")  # the files were just written: load them, do not wait
    sys.path.insert(0, str(ROOT / "tests"))
    import psycopg
    from psycopg import sql

    from saas_analytics import warehouse
    from saas_analytics.config import get_settings
    from saas_analytics.ml import tasks
    from saas_analytics.simulator import SimulationConfig, simulate

    get_settings.cache_clear()
    settings = get_settings()
    try:
        warehouse.start(settings)
        conninfo = warehouse.warehouse_conninfo(settings)
        landing = tmp / "landing"
        landing.mkdir()
        simulate(SimulationConfig(days=90, users=800, seed=42), landing)
        from pipeline_helpers import run_pipeline

        run_pipeline(conninfo, landing, run_id="dump")
        for step in (tasks.train_churn_model, tasks.score_churn_risk, tasks.segment_users,
                     tasks.detect_kpi_anomalies, tasks.write_insights):
            step(conninfo, "dump")
        out_dir.mkdir(parents=True, exist_ok=True)
        skipped = []
        with psycopg.connect(conninfo) as conn:
            # an empty warehouse would make every comparison vacuously "identical"
            events = conn.execute("select count(*) from core.fact_events").fetchone()[0]
            if events == 0:
                raise SystemExit("the demo pipeline loaded no event into core.fact_events: nothing to dump")
            names = [r[0] for r in conn.execute(
                "select c.relname from pg_class as c join pg_namespace as n on n.oid = c.relnamespace"
                " where n.nspname = 'analytics' and c.relkind in ('r', 'v', 'm') order by 1").fetchall()]
            for name in names:
                cols = [r[0] for r in conn.execute(
                    "select attname from pg_attribute where attrelid = to_regclass(%s) and attnum > 0"
                    " and not attisdropped order by attnum", [f"analytics.{name}"]).fetchall()]
                volatile = VOLATILE | VOLATILE_IN.get(name, set())
                keep = [c for c in cols if c not in volatile]
                skipped += [f"{name}.{c}" for c in cols if c in volatile]
                ids = sql.SQL(", ").join(map(sql.Identifier, keep))
                cur = conn.execute(sql.SQL("select {} from analytics.{} order by {}").format(
                    ids, sql.Identifier(name), ids))
                with (out_dir / f"{name}.csv").open("w", newline="") as fh:
                    writer = csv.writer(fh)
                    writer.writerow(keep)
                    writer.writerows(cur.fetchall())
        (out_dir / "_skipped.txt").write_text("\n".join(skipped) + "\n")
        print(f"wrote {len(names)} objects to {out_dir}")
    finally:
        warehouse.stop(settings)
        shutil.rmtree(tmp, ignore_errors=True)


def _stable_rows(path: Path) -> list[str]:
    """A dump file's lines without volatile columns (sorted again, since dropping columns may reorder)."""
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    volatile = VOLATILE | VOLATILE_IN.get(path.stem, set())
    keep = [i for i, c in enumerate(rows[0]) if c not in volatile] if rows else []
    lines = [",".join(row[i] for i in keep) for row in rows]
    return lines[:1] + sorted(lines[1:])


def compare(before: Path, after: Path) -> int:
    """Print, per object, whether the two dumps are identical; return the number that differ."""
    names = sorted({p.stem for p in before.glob("*.csv")} | {p.stem for p in after.glob("*.csv")})
    differing = 0
    for name in names:
        a, b = before / f"{name}.csv", after / f"{name}.csv"
        if not a.exists() or not b.exists():
            print(f"{name}: only in {'after' if b.exists() else 'before'}")
            continue
        same = _stable_rows(a) == _stable_rows(b)
        differing += not same
        print(f"{name}: {'identical' if same else 'DIFFERENT'}")
    return differing


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        sys.exit(1 if compare(Path(sys.argv[2]), Path(sys.argv[3])) else 0)
    main(Path(sys.argv[1]))
