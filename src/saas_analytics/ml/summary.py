"""The ML lines of `saas-analytics summary`: high-risk users and their MRR, the model, segments, anomalies."""

from __future__ import annotations

import psycopg

from saas_analytics.ml.churn import MODEL_NAME
from saas_analytics.queries import fetch_all

# each block of the summary: the named query in sql/queries that reads it
SUMMARY_QUERIES = {"risk": ("ml_churn_risk_summary", None), "model": ("latest_model_run", {"model_name": MODEL_NAME}),
                   "segments": ("ml_segment_summary", None), "anomalies": ("ml_recent_anomalies", None)}


def format_ml_summary(conninfo: str) -> str:
    """A few lines for the demo: high-risk users and the MRR they carry, the model, the largest segments."""
    with psycopg.connect(conninfo) as conn:
        rows = {name: fetch_all(conn, query, params) for name, (query, params) in SUMMARY_QUERIES.items()}
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
