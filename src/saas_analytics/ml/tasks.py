"""The ML steps as the DAG calls them: read core, compute, write one `as_of` slice per output in one transaction.

Orchestration only: the reads are named queries (`sql/queries/`, through `saas_analytics.queries`), the
writes live in `ml/store.py`, the demo's text in `ml/summary.py`.

Each function takes the warehouse connection string and the Airflow run id, records its stage (rows,
seconds, detail) through `pipeline.recorded_stage`, and returns a small JSON-able summary. `as_of` is the
latest activity date in core, so re-running on the same data rewrites the same slice with the same rows.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import psycopg

from saas_analytics.config import get_settings
from saas_analytics.ml import anomalies as anomaly_lib
from saas_analytics.ml import churn, insights, segments, store
from saas_analytics.ml.data import latest_activity_date, month_total_mrr, read_core
from saas_analytics.ml.features import FEATURE_LOOKBACK_DAYS, build_features, scoring_cutoff
from saas_analytics.pipeline import recorded_stage, unchanged_since, warehouse_state
from saas_analytics.queries import fetch_one, run_query

log = logging.getLogger(__name__)

def _skip(rec: dict, reason: str, as_of: date | None = None) -> dict:
    """Record (and return) that a step skipped its work, and why."""
    rec["detail"] = {"as_of": as_of.isoformat(), "skipped": reason} if as_of else {"skipped": reason}
    return rec["detail"]


def _unchanged(conninfo: str, stage: str, skip_unchanged: bool, *extra: object) -> tuple[str, dict | None]:
    """(this run's state, the stage's latest successful run when it saw the same state and skipping is on)."""
    with psycopg.connect(conninfo) as conn:
        state = warehouse_state(conn, *extra)
        return state, (unchanged_since(conn, stage, state) if skip_unchanged else None)


def _skip_unchanged(rec: dict, state: str, previous: dict) -> dict:
    """Record that nothing this step reads changed since `previous` (its slice is still current)."""
    rec["detail"] = {"state": state, "skipped": f"nothing changed since run {previous['run_id']}"}
    return rec["detail"]


def _cutoff_instant(as_of: date) -> datetime:
    """The instant scores describe: the end of `as_of` (midnight UTC after it)."""
    return datetime.combine(scoring_cutoff(as_of), time(0), tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# churn


def train_churn_model(conninfo: str, run_id: str, config: churn.ChurnConfig | None = None,
                      force: bool = False, retrain_days: int | None = None, auc_drop: float | None = None) -> dict:
    """Train and evaluate a churn model when one is due; record the run; promote it unless the champion does better.

    Due (`churn.retrain_due`): no model yet, changed settings, or the latest training is `retrain_days`
    (CHURN_RETRAIN_DAYS) data days old; else due when the champion's ROC AUC on the newest matured
    observation date fell more than `auc_drop` (CHURN_RETRAIN_AUC_DROP) below the AUC recorded at its
    promotion (`holdout_check`, in the detail). Otherwise the stage records `skipped` with the reason and
    the promoted model keeps scoring. `force` trains regardless.
    """
    config = config or churn.ChurnConfig()
    retrain_days = get_settings().churn_retrain_days if retrain_days is None else retrain_days
    auc_drop = get_settings().churn_retrain_auc_drop if auc_drop is None else auc_drop
    with recorded_stage(conninfo, run_id, "train_churn_model") as rec:
        check = None
        with psycopg.connect(conninfo) as conn:
            as_of = latest_activity_date(conn)
            if as_of is None:
                return _skip(rec, "no activity in core")
            latest = fetch_one(conn, "latest_model_run", {"model_name": churn.MODEL_NAME})
            due, why = churn.retrain_due(as_of, latest, config, retrain_days, force)
            if not due:
                check = champion_check(conn, as_of, latest, config, auc_drop)
                due, why = (True, f"holdout check: {check.reason}") if check.degraded else (due, why)
            if not due:
                rec["detail"] = {"as_of": as_of.isoformat(), "skipped": why, "trained": False,
                                 "holdout_check": check.as_detail()}
                return rec["detail"]
            frames = read_core(conn, config.history_since(as_of))
        try:
            result = churn.train(frames, as_of, config)
        except churn.NotEnoughData as exc:
            log.warning("churn model not trained: %s", exc)
            _skip(rec, str(exc), as_of)
            if check is not None:  # a degraded champion that could not be replaced: say both
                rec["detail"]["holdout_check"] = check.as_detail()
            return rec["detail"]
        auc = result.metrics["roc_auc"]
        with psycopg.connect(conninfo) as conn, conn.transaction():
            store.lock(conn, "ml_model_runs")
            judged = store.previous_verdict(conn, result.version)
            if judged is not None:  # the same data and settings were judged before: same verdict
                champion, champion_auc, promoted, decision = judged
            else:
                champion = store.current_champion(conn)
                model = store.load_artifact(conn, champion, "evaluation") if champion else None
                champion_auc = churn.holdout_auc(model, result.test_set) if model else None
                promoted, decision = churn.promotion_decision(auc, champion_auc, champion)
            store.record_training(conn, result, run_id, champion, champion_auc, promoted, decision)
        rec["rows"] = 1
        metrics = {k: round(v, 4) for k, v in result.metrics.items() if isinstance(v, float)}
        rec["detail"] = {"as_of": as_of.isoformat(), "trained": True, "why": why, "model_version": result.version,
                         "promoted": promoted, "decision": decision, **metrics, **result.split}
        if check is not None:
            rec["detail"]["holdout_check"] = check.as_detail()
    log.info("churn model %s: %s", result.version, decision)
    return json.loads(json.dumps(rec["detail"], default=str))


def champion_check(conn: psycopg.Connection, as_of: date, latest: dict | None, config: churn.ChurnConfig,
                   auc_drop: float) -> churn.HoldoutCheck:
    """The champion's holdout check on the newest matured observation date no model saw (a read of ~130 days).

    Not evaluated (never an error) without a champion, without a date newer than the champion's and the latest
    run's `test_to`, with too little matured data, or when the champion's artifact cannot be loaded. A champion
    found "ok" on a date is not evaluated again on that date: later runs repeat the verdict (`checked_in`).
    """
    champion = store.champion_run(conn)
    if champion is None:
        return churn.HoldoutCheck("not evaluated", "no promoted model", tolerance=auc_drop)
    seen = [d for d in (champion["test_to"], latest and latest["test_to"]) if d is not None]
    obs_date, why_not = churn.check_date(as_of, max(seen) if seen else None, config)
    if obs_date is None:
        return churn.HoldoutCheck("not evaluated", why_not, tolerance=auc_drop)
    previous = fetch_one(conn, "last_holdout_check")
    if previous and _same_check(previous["holdout_check"], champion["model_version"], obs_date, auc_drop):
        return churn.HoldoutCheck.from_detail(previous["holdout_check"], previous["run_id"])
    model = store.load_artifact(conn, champion["model_version"], "production")
    if model is None:
        return churn.HoldoutCheck("not evaluated", f"the champion {champion['model_version']} cannot be loaded",
                                  obs_date=obs_date, tolerance=auc_drop)
    frames = read_core(conn, obs_date - timedelta(days=FEATURE_LOOKBACK_DAYS))
    check = churn.holdout_check(model, float(champion["roc_auc"]), frames, obs_date, auc_drop, config)
    log.info("churn champion check: %s", check.reason)
    return check


def _same_check(previous: dict, version: str, obs_date: date, auc_drop: float) -> bool:
    """Whether a recorded check found this champion ok on this date with this tolerance."""
    return (previous.get("verdict") == "ok" and previous.get("model_version") == version
            and previous.get("obs_date") == obs_date.isoformat() and previous.get("tolerance") == auc_drop)


SCORE_COLUMNS = ("as_of", "user_id", "churn_probability", "risk_band", "model_version", "scored_at", "plan",
                 "mrr", "top_drivers")
DRIVER_COLUMNS = ("as_of", "user_id", "driver_rank", "feature", "description", "feature_value", "contribution")


def score_churn_risk(conninfo: str, run_id: str, config: churn.ChurnConfig | None = None,
                     skip_unchanged: bool = False) -> dict:
    """Score every user in the current population with the champion; replace this as_of's scores and drivers.

    With `skip_unchanged`, nothing is scored when neither the warehouse nor the champion changed since the
    stage last succeeded (its as_of slice is still current).
    """
    config = config or churn.ChurnConfig()
    with recorded_stage(conninfo, run_id, "score_churn_risk") as rec:
        with psycopg.connect(conninfo) as conn:
            champion = store.current_champion(conn)
        state, previous = _unchanged(conninfo, "score_churn_risk", skip_unchanged, champion, config)
        if previous is not None:
            return _skip_unchanged(rec, state, previous)
        with psycopg.connect(conninfo) as conn:
            as_of = latest_activity_date(conn)
            champion = store.current_champion(conn)
            model = store.load_artifact(conn, champion, "production") if champion else None
            if as_of is None or model is None:
                reason = ("no activity in core" if as_of is None else "no promoted churn model" if champion is None
                          else f"the promoted model {champion} cannot be loaded")
                return _skip(rec, reason)
            frames = read_core(conn, scoring_cutoff(as_of) - timedelta(days=FEATURE_LOOKBACK_DAYS))
        scores, drivers = churn.score_users(model, frames, as_of, config)
        scored_at = _cutoff_instant(as_of)
        score_rows = ((as_of, user, r.churn_probability, r.risk_band, model.version, scored_at, r.plan,
                       round(float(r.mrr), 2), r.top_drivers) for user, r in scores.iterrows())
        driver_rows = ((as_of, r.user_id, r.driver_rank, r.feature, r.description, r.feature_value, r.contribution)
                       for r in drivers.itertuples())
        with psycopg.connect(conninfo) as conn, conn.transaction():
            n = store.replace_churn_scores(conn, as_of, SCORE_COLUMNS, score_rows, DRIVER_COLUMNS, driver_rows)
        bands = scores["risk_band"].value_counts().to_dict()
        rec["rows"] = n
        rec["detail"] = {"as_of": as_of.isoformat(), "model_version": model.version, "users": n,
                         **{f"{b}_risk": int(bands.get(b, 0)) for b in churn.RISK_BANDS},
                         "high_risk_mrr": round(float(scores.loc[scores["risk_band"] == "high", "mrr"].sum()), 2),
                         "state": state}
    return rec["detail"]


# ---------------------------------------------------------------------------------------------
# segments

ASSIGNMENT_COLUMNS = ("as_of", "user_id", "segment_id", "segment_name")
PROFILE_COLUMNS = ("as_of", "segment_id", "segment_name", "users", "share", *segments.SEGMENT_FEATURES,
                   "paying_users", "mrr", "k", "silhouette")


def segment_users(conninfo: str, run_id: str, config: segments.SegmentConfig | None = None,
                  skip_unchanged: bool = False) -> dict:
    """Segment the users active in the last 90 days; replace this as_of's assignments and profiles."""
    config = config or segments.SegmentConfig()
    with recorded_stage(conninfo, run_id, "segment_users") as rec:
        state, previous = _unchanged(conninfo, "segment_users", skip_unchanged, config)
        if previous is not None:
            return _skip_unchanged(rec, state, previous)
        with psycopg.connect(conninfo) as conn:
            if (as_of := latest_activity_date(conn)) is None:
                return _skip(rec, "no activity in core")
            frames = read_core(conn, scoring_cutoff(as_of) - timedelta(days=FEATURE_LOOKBACK_DAYS))
        feats = build_features(frames.events, frames.subscriptions, scoring_cutoff(as_of))
        try:
            result = segments.segment_users(feats, config)
        except segments.NotEnoughUsers as exc:
            return _skip(rec, str(exc), as_of)
        assignment_rows = ((as_of, user, r.segment_id, r.segment_name) for user, r in result.assignments.iterrows())
        profile_rows = ((as_of, sid, *[r[c] for c in PROFILE_COLUMNS[2:-2]], result.k, result.silhouette)
                        for sid, r in result.profiles.iterrows())
        with psycopg.connect(conninfo) as conn, conn.transaction():
            store.lock(conn, "user_segments")
            n = store.replace_slice(conn, "user_segment_history", as_of, ASSIGNMENT_COLUMNS, assignment_rows)
            store.replace_slice(conn, "segment_profiles", as_of, PROFILE_COLUMNS, profile_rows)
        rec["rows"] = n
        rec["detail"] = {"as_of": as_of.isoformat(), "users": n, "k": result.k,
                         "silhouette": round(result.silhouette, 4),
                         "segments": {r.segment_name: int(r.users) for r in result.profiles.itertuples()},
                         "state": state}
    return rec["detail"]


# ---------------------------------------------------------------------------------------------
# anomalies

ANOMALY_COLUMNS = ("as_of", "metric", "date", "value", "expected", "score", "direction")


def detect_kpi_anomalies(conninfo: str, run_id: str, config: anomaly_lib.AnomalyConfig | None = None,
                         lookback_days: int = 365, skip_unchanged: bool = False) -> dict:
    """Check daily signups, DAU and net new MRR; replace this as_of's anomalies (the last `lookback_days` days)."""
    config = config or anomaly_lib.AnomalyConfig()
    with recorded_stage(conninfo, run_id, "detect_kpi_anomalies") as rec:
        state, previous = _unchanged(conninfo, "detect_kpi_anomalies", skip_unchanged, config, lookback_days)
        if previous is not None:
            return _skip_unchanged(rec, state, previous)
        with psycopg.connect(conninfo) as conn:
            if (as_of := latest_activity_date(conn)) is None:
                return _skip(rec, "no activity in core")
            metrics = anomaly_lib.read_daily_metrics(conn, as_of)
        found = anomaly_lib.detect_anomalies(metrics, config, since=as_of - timedelta(days=lookback_days - 1))
        rows = ((as_of, r.metric, r.date, r.value, r.expected, r.score, r.direction) for r in found.itertuples())
        with psycopg.connect(conninfo) as conn, conn.transaction():
            store.lock(conn, "metric_anomalies")
            n = store.replace_slice(conn, "metric_anomalies", as_of, ANOMALY_COLUMNS, rows)
        rec["rows"] = n
        rec["detail"] = {"as_of": as_of.isoformat(), "anomalies": [
            f"{r.metric} {r.date} {r.direction} ({r.score:+.1f})" for r in found.itertuples()], "state": state}
    return rec["detail"]


# ---------------------------------------------------------------------------------------------
# insights

INSIGHT_COLUMNS = ("as_of", "insight_key", "position", "category", "headline", "value", "reference_value", "unit",
                   "detail")
def write_insights(conninfo: str, run_id: str, skip_unchanged: bool = False) -> dict:
    """Turn this as_of's KPIs and ML outputs into plain-language statements; replace this as_of's insights."""
    with recorded_stage(conninfo, run_id, "write_insights") as rec:
        with psycopg.connect(conninfo) as conn:
            latest = fetch_one(conn, "latest_model_run", {"model_name": churn.MODEL_NAME})
            champion = store.current_champion(conn)
        outputs = (champion, latest and latest["model_version"], latest and latest["promoted"])
        state, previous = _unchanged(conninfo, "write_insights", skip_unchanged, *outputs)
        if previous is not None:
            return _skip_unchanged(rec, state, previous)
        with psycopg.connect(conninfo) as conn:
            if (as_of := latest_activity_date(conn)) is None:
                return _skip(rec, "no activity in core")
            dau = run_query(conn, "dau_last_14_days", {"as_of": as_of})
            dau_series = pd.Series(dau["dau"].to_numpy(dtype=float), index=list(dau["day"]), dtype=float)
            cohorts = run_query(conn, "retention_cohort_counts") if _exists(
                conn, "analytics.user_retention_cohorts") else pd.DataFrame()
            scores = run_query(conn, "churn_scores_as_of", {"as_of": as_of})
            total_mrr = month_total_mrr(conn, as_of)
            found = run_query(conn, "metric_anomalies_as_of", {"as_of": as_of})
            profiles = run_query(conn, "segment_profiles_as_of", {"as_of": as_of})
            run = fetch_one(conn, "latest_model_run", {"model_name": churn.MODEL_NAME})
        items = insights.build_insights(as_of, dau_series, cohorts, scores, total_mrr, found, profiles, run)
        rows = ((as_of, i.key, pos, i.category, i.headline, i.value, i.reference_value, i.unit,
                 json.dumps(i.detail, default=str)) for pos, i in enumerate(items, start=1))
        with psycopg.connect(conninfo) as conn, conn.transaction():
            store.lock(conn, "insights")
            n = store.replace_slice(conn, "insights", as_of, INSIGHT_COLUMNS, rows)
        rec["rows"] = n
        rec["detail"] = {"as_of": as_of.isoformat(), "insights": [i.headline for i in items], "state": state}
    return rec["detail"]


def _exists(conn: psycopg.Connection, name: str) -> bool:
    """Whether a relation exists."""
    return conn.execute("select to_regclass(%s) is not null", [name]).fetchone()[0]
