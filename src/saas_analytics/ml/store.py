"""Where the ML outputs live: slices per `as_of` in analytics, model runs, and model artifacts in schema ml.

Every write happens inside the caller's transaction, under the output's advisory lock, so a re-run
replaces its own slice and concurrent writers of the same output queue up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from saas_analytics.ml import churn
from saas_analytics.queries import fetch_one

log = logging.getLogger(__name__)

ML_LOCK = 4_242_003  # serialises concurrent writers of the same output (with the output's name)


def native(value):
    """A psycopg-friendly Python value (numpy scalars unwrapped, NaN → NULL)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def lock(conn: psycopg.Connection, output: str) -> None:
    """Take the transaction-scoped advisory lock of one output."""
    conn.execute("select pg_advisory_xact_lock(%s, hashtext(%s))", [ML_LOCK, output])


def replace_slice(conn: psycopg.Connection, table: str, as_of: date, columns: Sequence[str],
                  rows: Iterable[Sequence]) -> int:
    """Delete `table`'s rows for `as_of` and COPY the new ones in (call inside a transaction)."""
    ident = sql.Identifier("analytics", table)
    conn.execute(sql.SQL("delete from {} where as_of = %s").format(ident), [as_of])
    count = 0
    stmt = sql.SQL("copy {} ({}) from stdin").format(ident, sql.SQL(", ").join(map(sql.Identifier, columns)))
    with conn.cursor().copy(stmt) as copy:
        for row in rows:
            copy.write_row([native(v) for v in row])
            count += 1
    return count


def current_champion(conn: psycopg.Connection) -> str | None:
    """The version of the model currently promoted (the latest promoted run)."""
    row = fetch_one(conn, "promoted_model", {"model_name": churn.MODEL_NAME})
    return row["model_version"] if row else None


def champion_run(conn: psycopg.Connection) -> dict | None:
    """The promoted run: model_version, roc_auc (its holdout AUC, recorded at promotion), as_of, test_to."""
    return fetch_one(conn, "promoted_model", {"model_name": churn.MODEL_NAME})


def load_artifact(conn: psycopg.Connection, version: str, kind: str) -> churn.ChurnModel | None:
    """A stored model (kind 'evaluation' or 'production'), or None when missing or unreadable."""
    row = fetch_one(conn, "model_artifact", {"model_version": version, "kind": kind})
    if row is None:
        return None
    blob = bytes(row["artifact"])
    if hashlib.sha256(blob).hexdigest() != row["sha256"]:
        log.warning("artifact %s/%s fails its checksum", version, kind)
        return None
    try:
        return churn.load_model(blob)
    except Exception as exc:  # e.g. pickled with another scikit-learn version
        log.warning("artifact %s/%s cannot be loaded: %s", version, kind, exc)
        return None


RUN_COLUMNS = (
    "model_version", "model_name", "as_of", "run_id", "trained_at", "algorithm", "feature_list", "params",
    "train_rows", "test_rows", "train_from", "train_to", "test_from", "test_to", "base_rate", "roc_auc",
    "pr_auc", "brier", "top_decile_lift", "shuffled_roc_auc", "champion_version", "champion_roc_auc",
    "promoted", "decision", "metrics",
)


def record_training(conn: psycopg.Connection, result: churn.TrainingResult, run_id: str,
                    champion_version: str | None, champion_auc: float | None, promoted: bool,
                    decision: str) -> None:
    """Upsert the model run and its two artifacts (call inside a transaction)."""
    m, s = result.metrics, result.split
    values = {
        "model_version": result.version, "model_name": churn.MODEL_NAME, "as_of": result.as_of,
        "run_id": run_id, "trained_at": datetime.now(UTC), "algorithm": churn.ALGORITHM,
        "feature_list": list(result.evaluation_model.features),
        "params": json.dumps(result.params, default=str), "train_rows": s["train_rows"],
        "test_rows": s["test_rows"], "train_from": s["train_from"], "train_to": s["train_to"],
        "test_from": s["test_from"], "test_to": s["test_to"], "base_rate": m["base_rate"],
        "roc_auc": m["roc_auc"], "pr_auc": m["pr_auc"], "brier": m["brier"],
        "top_decile_lift": m["top_decile_lift"], "shuffled_roc_auc": m["shuffled_roc_auc"],
        "champion_version": champion_version, "champion_roc_auc": champion_auc, "promoted": promoted,
        "decision": decision, "metrics": json.dumps({**m, **s}, default=str),
    }
    cols = sql.SQL(", ").join(map(sql.Identifier, RUN_COLUMNS))
    params = sql.SQL(", ").join(sql.Placeholder(c) for c in RUN_COLUMNS)
    updates = sql.SQL(", ").join(
        sql.SQL("{} = excluded.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in RUN_COLUMNS[1:])
    conn.execute(sql.SQL("insert into analytics.ml_model_runs ({}) values ({}) on conflict (model_version) "
                         "do update set {}").format(cols, params, updates),
                 {k: native(v) for k, v in values.items()})
    for kind, model in (("evaluation", result.evaluation_model), ("production", result.production_model)):
        blob = churn.dump_model(model)
        conn.execute(
            "insert into ml.model_artifacts (model_version, kind, artifact, sha256, sklearn_version)"
            " values (%s, %s, %s, %s, %s) on conflict (model_version, kind) do update set"
            " artifact = excluded.artifact, sha256 = excluded.sha256, sklearn_version = excluded.sklearn_version,"
            " created_at = now()",
            [result.version, kind, blob, hashlib.sha256(blob).hexdigest(), model.sklearn_version],
        )



def previous_verdict(conn: psycopg.Connection, version: str) -> tuple | None:
    """(champion, champion AUC, promoted, decision) when this model version was judged before, else None."""
    row = fetch_one(conn, "model_run_verdict", {"model_version": version})
    return (row["champion_version"], row["champion_roc_auc"], row["promoted"], row["decision"]) if row else None


def replace_churn_scores(conn: psycopg.Connection, as_of: date, score_columns: Sequence[str], score_rows: Iterable,
                         driver_columns: Sequence[str], driver_rows: Iterable) -> int:
    """Replace this as_of's churn scores and their drivers (call inside a transaction)."""
    lock(conn, "churn_risk_scores")
    conn.execute("delete from analytics.churn_risk_drivers where as_of = %s", [as_of])
    n = replace_slice(conn, "churn_risk_score_history", as_of, score_columns, score_rows)
    replace_slice(conn, "churn_risk_drivers", as_of, driver_columns, driver_rows)
    return n
