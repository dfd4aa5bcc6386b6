"""The ML steps as the DAG calls them: read core, compute, write one `as_of` slice per output in one transaction.

Each function takes the warehouse connection string and the Airflow run id, records its stage (rows,
seconds, detail) through `pipeline.recorded_stage`, and returns a small JSON-able summary. `as_of` is the
latest activity date in core, so re-running on the same data rewrites the same slice with the same rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from saas_analytics.ml import anomalies as anomaly_lib
from saas_analytics.ml import churn, insights, segments
from saas_analytics.ml.data import latest_activity_date, query_frame, read_core
from saas_analytics.ml.features import FEATURE_LOOKBACK_DAYS, build_features, scoring_cutoff
from saas_analytics.pipeline import recorded_stage

log = logging.getLogger(__name__)

ML_LOCK = 4_242_003  # serialises concurrent writers of the same output (with the output's name)


# ---------------------------------------------------------------------------------------------
# writing helpers


def _native(value):
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


def _lock(conn: psycopg.Connection, output: str) -> None:
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
            copy.write_row([_native(v) for v in row])
            count += 1
    return count


def _cutoff_instant(as_of: date) -> datetime:
    """The instant scores describe: the end of `as_of` (midnight UTC after it)."""
    return datetime.combine(scoring_cutoff(as_of), time(0), tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# churn


CHAMPION_SQL = """
select model_version, roc_auc
from analytics.ml_model_runs
where model_name = %s and promoted
order by as_of desc, trained_at desc, model_version desc
limit 1
"""


def current_champion(conn: psycopg.Connection) -> str | None:
    """The version of the model currently promoted (the latest promoted run)."""
    row = conn.execute(CHAMPION_SQL, [churn.MODEL_NAME]).fetchone()
    return row[0] if row else None


def load_artifact(conn: psycopg.Connection, version: str, kind: str) -> churn.ChurnModel | None:
    """A stored model (kind 'evaluation' or 'production'), or None when missing or unreadable."""
    row = conn.execute("select artifact, sha256 from ml.model_artifacts where model_version = %s and kind = %s",
                       [version, kind]).fetchone()
    if row is None:
        return None
    blob = bytes(row[0])
    if hashlib.sha256(blob).hexdigest() != row[1]:
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
                 {k: _native(v) for k, v in values.items()})
    for kind, model in (("evaluation", result.evaluation_model), ("production", result.production_model)):
        blob = churn.dump_model(model)
        conn.execute(
            "insert into ml.model_artifacts (model_version, kind, artifact, sha256, sklearn_version)"
            " values (%s, %s, %s, %s, %s) on conflict (model_version, kind) do update set"
            " artifact = excluded.artifact, sha256 = excluded.sha256, sklearn_version = excluded.sklearn_version,"
            " created_at = now()",
            [result.version, kind, blob, hashlib.sha256(blob).hexdigest(), model.sklearn_version],
        )


def train_churn_model(conninfo: str, run_id: str, config: churn.ChurnConfig | None = None) -> dict:
    """Train and evaluate a churn model; record the run; promote it unless the champion does better."""
    config = config or churn.ChurnConfig()
    with recorded_stage(conninfo, run_id, "ml_churn_train") as rec:
        with psycopg.connect(conninfo) as conn:
            as_of = latest_activity_date(conn)
            frames = read_core(conn, config.history_since(as_of)) if as_of else None
        if as_of is None:
            rec["detail"] = {"skipped": "no activity in core"}
            return rec["detail"]
        try:
            result = churn.train(frames, as_of, config)
        except churn.NotEnoughData as exc:
            rec["detail"] = {"as_of": as_of.isoformat(), "skipped": str(exc)}
            log.warning("churn model not trained: %s", exc)
            return rec["detail"]
        auc = result.metrics["roc_auc"]
        with psycopg.connect(conninfo) as conn, conn.transaction():
            _lock(conn, "ml_model_runs")
            judged = conn.execute("select champion_version, champion_roc_auc, promoted, decision"
                                  " from analytics.ml_model_runs where model_version = %s",
                                  [result.version]).fetchone()
            if judged is not None:  # the same data and settings were judged before: same verdict
                champion, champion_auc, promoted, decision = judged
            else:
                champion = current_champion(conn)
                model = load_artifact(conn, champion, "evaluation") if champion else None
                champion_auc = churn.holdout_auc(model, result.test_set) if model else None
                promoted, decision = churn.promotion_decision(auc, champion_auc, champion)
            record_training(conn, result, run_id, champion, champion_auc, promoted, decision)
        rec["rows"] = 1
        rec["detail"] = {"as_of": as_of.isoformat(), "model_version": result.version, "promoted": promoted,
                         "decision": decision, **{k: round(v, 4) for k, v in result.metrics.items()
                                                  if isinstance(v, float)}, **result.split}
    log.info("churn model %s: %s", result.version, decision)
    return json.loads(json.dumps(rec["detail"], default=str))


SCORE_COLUMNS = ("as_of", "user_id", "churn_probability", "risk_band", "model_version", "scored_at", "plan",
                 "mrr", "top_drivers")
DRIVER_COLUMNS = ("as_of", "user_id", "driver_rank", "feature", "description", "feature_value", "contribution")


def score_churn_risk(conninfo: str, run_id: str, config: churn.ChurnConfig | None = None) -> dict:
    """Score every user in the current population with the champion; replace this as_of's scores and drivers."""
    config = config or churn.ChurnConfig()
    with recorded_stage(conninfo, run_id, "ml_churn_score") as rec:
        with psycopg.connect(conninfo) as conn:
            as_of = latest_activity_date(conn)
            champion = current_champion(conn)
            model = load_artifact(conn, champion, "production") if champion else None
            if as_of is None or model is None:
                reason = ("no activity in core" if as_of is None else "no promoted churn model" if champion is None
                          else f"the promoted model {champion} cannot be loaded")
                rec["detail"] = {"skipped": reason}
                return rec["detail"]
            frames = read_core(conn, scoring_cutoff(as_of) - timedelta(days=FEATURE_LOOKBACK_DAYS))
        scores, drivers = churn.score_users(model, frames, as_of, config)
        scored_at = _cutoff_instant(as_of)
        score_rows = ((as_of, user, r.churn_probability, r.risk_band, model.version, scored_at, r.plan,
                       round(float(r.mrr), 2), r.top_drivers) for user, r in scores.iterrows())
        driver_rows = ((as_of, r.user_id, r.driver_rank, r.feature, r.description, r.feature_value, r.contribution)
                       for r in drivers.itertuples())
        with psycopg.connect(conninfo) as conn, conn.transaction():
            _lock(conn, "churn_risk_scores")
            conn.execute("delete from analytics.churn_risk_drivers where as_of = %s", [as_of])
            n = replace_slice(conn, "churn_risk_score_history", as_of, SCORE_COLUMNS, score_rows)
            replace_slice(conn, "churn_risk_drivers", as_of, DRIVER_COLUMNS, driver_rows)
        bands = scores["risk_band"].value_counts().to_dict()
        rec["rows"] = n
        rec["detail"] = {"as_of": as_of.isoformat(), "model_version": model.version, "users": n,
                         **{f"{b}_risk": int(bands.get(b, 0)) for b in churn.RISK_BANDS},
                         "high_risk_mrr": round(float(scores.loc[scores["risk_band"] == "high", "mrr"].sum()), 2)}
    return rec["detail"]


# ---------------------------------------------------------------------------------------------
# segments

PROFILE_COLUMNS = ("as_of", "segment_id", "segment_name", "users", "share", *segments.SEGMENT_FEATURES,
                   "paying_users", "mrr", "k", "silhouette")


def segment_users(conninfo: str, run_id: str, config: segments.SegmentConfig | None = None) -> dict:
    """Segment the users active in the last 90 days; replace this as_of's assignments and profiles."""
    config = config or segments.SegmentConfig()
    with recorded_stage(conninfo, run_id, "ml_segments") as rec:
        with psycopg.connect(conninfo) as conn:
            as_of = latest_activity_date(conn)
            if as_of is None:
                rec["detail"] = {"skipped": "no activity in core"}
                return rec["detail"]
            frames = read_core(conn, scoring_cutoff(as_of) - timedelta(days=FEATURE_LOOKBACK_DAYS))
        feats = build_features(frames.events, frames.subscriptions, scoring_cutoff(as_of))
        try:
            result = segments.segment_users(feats, config)
        except segments.NotEnoughUsers as exc:
            rec["detail"] = {"as_of": as_of.isoformat(), "skipped": str(exc)}
            return rec["detail"]
        assignment_rows = ((as_of, user, r.segment_id, r.segment_name) for user, r in result.assignments.iterrows())
        profile_rows = ((as_of, sid, *[r[c] for c in PROFILE_COLUMNS[2:-2]], result.k, result.silhouette)
                        for sid, r in result.profiles.iterrows())
        with psycopg.connect(conninfo) as conn, conn.transaction():
            _lock(conn, "user_segments")
            n = replace_slice(conn, "user_segment_history", as_of, ("as_of", "user_id", "segment_id", "segment_name"),
                              assignment_rows)
            replace_slice(conn, "segment_profiles", as_of, PROFILE_COLUMNS, profile_rows)
        rec["rows"] = n
        rec["detail"] = {"as_of": as_of.isoformat(), "users": n, "k": result.k,
                         "silhouette": round(result.silhouette, 4),
                         "segments": {r.segment_name: int(r.users) for r in result.profiles.itertuples()}}
    return rec["detail"]


# ---------------------------------------------------------------------------------------------
# anomalies

ANOMALY_COLUMNS = ("as_of", "metric", "date", "value", "expected", "score", "direction")


def detect_kpi_anomalies(conninfo: str, run_id: str, config: anomaly_lib.AnomalyConfig | None = None,
                         lookback_days: int = 365) -> dict:
    """Check daily signups, DAU and net new MRR; replace this as_of's anomalies (the last `lookback_days` days)."""
    config = config or anomaly_lib.AnomalyConfig()
    with recorded_stage(conninfo, run_id, "ml_anomalies") as rec:
        with psycopg.connect(conninfo) as conn:
            as_of = latest_activity_date(conn)
            if as_of is None:
                rec["detail"] = {"skipped": "no activity in core"}
                return rec["detail"]
            metrics = anomaly_lib.read_daily_metrics(conn, as_of)
        found = anomaly_lib.detect_anomalies(metrics, config, since=as_of - timedelta(days=lookback_days - 1))
        rows = ((as_of, r.metric, r.date, r.value, r.expected, r.score, r.direction) for r in found.itertuples())
        with psycopg.connect(conninfo) as conn, conn.transaction():
            _lock(conn, "metric_anomalies")
            n = replace_slice(conn, "metric_anomalies", as_of, ANOMALY_COLUMNS, rows)
        rec["rows"] = n
        rec["detail"] = {"as_of": as_of.isoformat(), "anomalies": [
            f"{r.metric} {r.date} {r.direction} ({r.score:+.1f})" for r in found.itertuples()]}
    return rec["detail"]


# ---------------------------------------------------------------------------------------------
# insights

INSIGHT_COLUMNS = ("as_of", "insight_key", "position", "category", "headline", "value", "reference_value", "unit",
                   "detail")
# DAU of the 14 days through as_of (0 on quiet days), from the first activity date on
DAU_SQL = """
select days.day::date as day, count(a.user_id)::float8 as dau
from generate_series(
    greatest(%(as_of)s::date - 13, (select min(activity_date) from core.fact_daily_user_activity)),
    %(as_of)s::date, interval '1 day') as days (day)
left join core.fact_daily_user_activity as a on a.activity_date = days.day::date
group by 1
order by 1
"""
TOTAL_MRR_SQL = """
select coalesce(sum(mrr_cents), 0) / 100.0
from (
    select distinct on (user_id) mrr_cents
    from core.fact_subscription_events
    where event_at < %(cutoff)s
    order by user_id, event_at desc, message_id desc
) as latest
"""


def write_insights(conninfo: str, run_id: str) -> dict:
    """Turn this as_of's KPIs and ML outputs into plain-language statements; replace this as_of's insights."""
    with recorded_stage(conninfo, run_id, "ml_insights") as rec:
        with psycopg.connect(conninfo) as conn:
            as_of = latest_activity_date(conn)
            if as_of is None:
                rec["detail"] = {"skipped": "no activity in core"}
                return rec["detail"]
            dau = query_frame(conn, DAU_SQL, {"as_of": as_of})
            dau_series = pd.Series(dau["dau"].to_numpy(dtype=float), index=list(dau["day"]), dtype=float)
            cohorts = query_frame(conn, "select cohort_month, months_since_signup, cohort_size, retained_users"
                                        " from analytics.user_retention_cohorts") if _exists(
                conn, "analytics.user_retention_cohorts") else pd.DataFrame()
            scores = query_frame(conn, "select risk_band, mrr, churn_probability"
                                       " from analytics.churn_risk_score_history where as_of = %s", [as_of])
            total_mrr = float(conn.execute(TOTAL_MRR_SQL, {"cutoff": _cutoff_instant(as_of)}).fetchone()[0])
            found = query_frame(conn, "select metric, date, value, expected, score, direction"
                                      " from analytics.metric_anomalies where as_of = %s", [as_of])
            profiles = query_frame(conn, "select segment_id, segment_name, users, share"
                                         " from analytics.segment_profiles where as_of = %s", [as_of])
            run = conn.cursor(row_factory=dict_row).execute(
                "select * from analytics.ml_model_runs where model_name = %s order by as_of desc, trained_at desc"
                " limit 1", [churn.MODEL_NAME]).fetchone()
        items = insights.build_insights(as_of, dau_series, cohorts, scores, total_mrr, found, profiles, run)
        rows = ((as_of, i.key, pos, i.category, i.headline, i.value, i.reference_value, i.unit,
                 json.dumps(i.detail, default=str)) for pos, i in enumerate(items, start=1))
        with psycopg.connect(conninfo) as conn, conn.transaction():
            _lock(conn, "insights")
            n = replace_slice(conn, "insights", as_of, INSIGHT_COLUMNS, rows)
        rec["rows"] = n
        rec["detail"] = {"as_of": as_of.isoformat(), "insights": [i.headline for i in items]}
    return rec["detail"]


def _exists(conn: psycopg.Connection, name: str) -> bool:
    """Whether a relation exists."""
    return conn.execute("select to_regclass(%s) is not null", [name]).fetchone()[0]


# ---------------------------------------------------------------------------------------------
# summary for the demo

SUMMARY_SQL = {
    "risk": """
        select as_of, model_version, count(*) as users,
               count(*) filter (where risk_band = 'high') as high,
               count(*) filter (where risk_band = 'high' and mrr > 0) as high_paying,
               coalesce(sum(mrr) filter (where risk_band = 'high'), 0) as high_mrr
        from analytics.churn_risk_scores
        group by as_of, model_version
    """,
    "model": """
        select model_version, roc_auc, pr_auc, brier, top_decile_lift, shuffled_roc_auc, promoted
        from analytics.ml_model_runs where model_name = 'churn' order by as_of desc, trained_at desc limit 1
    """,
    "segments": """
        select segment_name, users, share from analytics.segment_profiles
        where as_of = (select max(as_of) from analytics.segment_profiles)
        order by users desc, segment_id
    """,
    "anomalies": """
        select metric, date, value, expected, direction from analytics.metric_anomalies
        where as_of = (select max(as_of) from analytics.metric_anomalies)
          and date > (select max(as_of) from analytics.metric_anomalies) - 90
        order by date desc, metric
    """,
}


def format_ml_summary(conninfo: str) -> str:
    """A few lines for the demo: high-risk users and the MRR they carry, the model, the largest segments."""
    with psycopg.connect(conninfo, row_factory=dict_row) as conn:
        rows = {name: conn.execute(q).fetchall() for name, q in SUMMARY_SQL.items()}
    lines = []
    risk, model = (rows["risk"] or [None])[0], (rows["model"] or [None])[0]
    if risk:
        lines.append(f"Churn risk (as of {risk['as_of']}, model {risk['model_version']}): "
                     f"{risk['high']:,} of {risk['users']:,} active users at high risk, "
                     f"{risk['high_paying']:,} of them paying ${float(risk['high_mrr']):,.2f} MRR")
    else:
        lines.append("Churn risk: no scores yet (a model needs ~11 weeks of history to train and evaluate honestly)")
    if model:
        lines.append(f"  holdout ROC AUC {model['roc_auc']:.3f}, PR AUC {model['pr_auc']:.3f}, "
                     f"Brier {model['brier']:.3f}, top-decile lift {model['top_decile_lift']:.2f}; "
                     f"shuffled-label baseline {model['shuffled_roc_auc']:.3f}"
                     + ("" if model["promoted"] else " (latest model not promoted)"))
    if rows["segments"]:
        parts = [f"{r['segment_name']} {100 * r['share']:.0f}% ({r['users']:,})" for r in rows["segments"][:4]]
        lines.append("Segments: " + ", ".join(parts))
    if rows["anomalies"]:
        parts = [f"{r['metric']} {r['date']} {r['direction']} ({r['value']:,.0f} vs {r['expected']:,.0f} expected)"
                 for r in rows["anomalies"][:4]]
        lines.append("Anomalies (last 90 days): " + "; ".join(parts))
    else:
        lines.append("Anomalies (last 90 days): none")
    return "\n".join(lines)
