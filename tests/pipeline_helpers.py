"""Test helpers shared across the tree: run the pipeline without Airflow, compare with the reference."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import psycopg

import reference_metrics as ref
from saas_analytics import pipeline

ANALYTICS_KEYS = {
    "daily_active_users": ["activity_date"],
    "user_retention_cohorts": ["cohort_month", "months_since_signup"],
    "feature_adoption": ["feature"],
    "mrr_monthly": ["month"],
}


def run_pipeline(conninfo: str, landing_dir: Path, run_id: str = "test") -> None:
    """Load → staging → core → data tests → refresh → analytics tests, as the DAG does (without Airflow)."""
    pipeline.load(conninfo, run_id, landing_dir)
    pipeline.build_layer(conninfo, run_id, "staging")
    pipeline.build_layer(conninfo, run_id, "core")
    pipeline.check(conninfo, run_id, pipeline.CORE_TEST_LAYERS)
    pipeline.refresh(conninfo, run_id)
    pipeline.check(conninfo, run_id, pipeline.ANALYTICS_TEST_LAYERS)


def read_table(conninfo: str, name: str) -> pd.DataFrame:
    """An analytics object as a DataFrame, sorted by its key."""
    with psycopg.connect(conninfo) as conn:
        cur = conn.execute(f"select * from analytics.{name}")
        frame = pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])
    return frame.sort_values(ANALYTICS_KEYS[name]).reset_index(drop=True)


def assert_events_match(conninfo: str, landed: ref.LandingResult) -> None:
    """Core's events (ids, person, ids as sent) and staging's quarantine equal the reference's, line by line."""
    with psycopg.connect(conninfo) as conn:
        events = conn.execute(
            "select message_id, user_id, sent_user_id, anonymous_id, event_type, event_name from core.fact_events"
        ).fetchall()
        quarantined = conn.execute(
            "select f.file_name, q.line_no, q.reason from staging.quarantine as q"
            " inner join raw.load_files as f using (file_id)"
        ).fetchall()
        duplicates = conn.execute("select count(*) from staging.duplicates").fetchone()[0]
    want = landed.events[["message_id", "user_id", "sent_user_id", "anonymous_id", "type", "event"]]
    expected = sorted(tuple(None if v is None or v != v else v for v in row) for row in want.itertuples(index=False))
    assert sorted(events) == expected, "core.fact_events differs from the reference (id, person, sent ids, type)"
    assert sorted(quarantined) == sorted(landed.quarantined.itertuples(index=False, name=None))
    assert duplicates == landed.duplicates


def assert_matches_reference(conninfo: str, landing_dir: Path) -> ref.LandingResult:
    """Every analytics object (and every event's person) equals the pandas reference from the landing files."""
    landed = ref.read_landing(landing_dir)
    assert_events_match(conninfo, landed)
    expected = {
        "daily_active_users": ref.daily_active_users(landed.events),
        "user_retention_cohorts": ref.retention_cohorts(landed.events),
        "feature_adoption": ref.feature_adoption(landed.events),
        "mrr_monthly": ref.mrr_monthly(landed.events),
    }
    for name, want in expected.items():
        got = read_table(conninfo, name)
        want = want.sort_values(ANALYTICS_KEYS[name]).reset_index(drop=True)
        assert len(got) == len(want), f"{name}: {len(got)} rows, expected {len(want)}"
        if want.empty:
            continue
        for column in want.columns:
            g, w = got[column].tolist(), want[column].tolist()
            if column in {"stickiness", "retention_rate", "adoption_rate"}:
                g = [float("nan") if v is None else float(v) for v in g]
                assert pd.Series(g).sub(pd.Series(w, dtype=float)).abs().fillna(0).max() < 1e-6, (name, column)
                assert pd.Series(g).isna().tolist() == pd.Series(w, dtype=float).isna().tolist(), (name, column)
            elif want[column].dtype == object and w and isinstance(w[0], Decimal):
                assert [Decimal(v) for v in g] == w, (name, column)
            else:
                assert g == w, (name, column)
    return landed


def write_corrected_day(path: Path) -> None:
    """Rewrite a landed day file as a correction would: a fifth of its lines gone, every feature_used renamed."""
    lines = gzip.decompress(path.read_bytes()).splitlines()
    corrected = []
    for i, line in enumerate(lines):
        if i % 5 == 0:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            corrected.append(line)
            continue
        if isinstance(event, dict) and event.get("event") == "feature_used":
            event.setdefault("properties", {})["feature"] = "renamed_feature"
        corrected.append(json.dumps(event).encode())
    path.write_bytes(gzip.compress(b"\n".join(corrected) + b"\n", mtime=0))
