"""Plain-language insights with the numbers behind them, one small function per statement."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

METRIC_NAMES = {"signups": "Signups", "dau": "DAU", "net_new_mrr": "Net new MRR"}


@dataclass(frozen=True)
class Insight:
    """One statement: a stable key, the sentence, its main number and what that is compared with."""

    key: str
    category: str
    headline: str
    value: float | None = None
    reference_value: float | None = None
    unit: str | None = None
    detail: dict = field(default_factory=dict)


def _pct(x: float) -> str:
    """0.1234 → '12.3%'."""
    return f"{100 * x:.1f}%"


def _money(x: float) -> str:
    """1234.5 → '$1,234.50'."""
    return f"${x:,.2f}"


def _change(new: float, old: float) -> float | None:
    """Relative change, None when the base is zero."""
    return (new - old) / old if old else None


def dau_week_over_week(dau: pd.Series, as_of: date) -> Insight | None:
    """Average DAU of the 7 days through `as_of` against the 7 days before (dau: index = day, 0 for quiet days)."""
    days = pd.Index(pd.to_datetime(dau.index)).date
    series = pd.Series(dau.to_numpy(dtype=float), index=days)
    this = [as_of - timedelta(days=i) for i in range(7)]
    prev = [as_of - timedelta(days=i) for i in range(7, 14)]
    if not set(prev) <= set(series.index):
        return None
    now, before = float(series.reindex(this).fillna(0).mean()), float(series.reindex(prev).mean())
    change = _change(now, before)
    if change is None:
        return None
    word = "up" if change > 0 else "down" if change < 0 else "unchanged"
    return Insight(
        key="dau_week_over_week", category="engagement",
        headline=(f"Average DAU in the week to {as_of:%b %d} was {now:,.0f}, {word} {_pct(abs(change))} "
                  f"from {before:,.0f} the week before."),
        value=now, reference_value=before, unit="users",
        detail={"change": change, "week_start": (as_of - timedelta(days=6)).isoformat()},
    )


def month1_retention(cohorts: pd.DataFrame, as_of: date) -> Insight | None:
    """The latest cohort whose month 1 is complete, against the size-weighted average of all such cohorts.

    cohorts: analytics.user_retention_cohorts rows (cohort_month, months_since_signup, cohort_size,
    retained_users).
    """
    if cohorts.empty:
        return None
    m1 = cohorts.loc[cohorts["months_since_signup"] == 1].copy()
    m1["cohort_month"] = pd.to_datetime(m1["cohort_month"])
    month1_end = m1["cohort_month"] + pd.DateOffset(months=2)
    full = m1.loc[month1_end <= pd.Timestamp(as_of + timedelta(days=1))].sort_values("cohort_month")
    full = full.loc[full["cohort_size"] > 0]
    if full.empty:
        return None
    latest = full.iloc[-1]
    rate = float(latest["retained_users"]) / float(latest["cohort_size"])
    earlier = full.iloc[:-1]
    month = latest["cohort_month"].strftime("%B %Y")
    if earlier.empty:
        headline = (f"The {month} cohort kept {_pct(rate)} of its {int(latest['cohort_size']):,} users in month 1; "
                    "it is the first cohort with a complete month 1, so there is no average to compare with yet.")
        reference = None
    else:
        reference = float(earlier["retained_users"].sum()) / float(earlier["cohort_size"].sum())
        diff = rate - reference
        word = "above" if diff > 0 else "below" if diff < 0 else "level with"
        headline = (f"The {month} cohort kept {_pct(rate)} of its {int(latest['cohort_size']):,} users in month 1, "
                    f"{abs(100 * diff):.1f} points {word} the {_pct(reference)} average of the "
                    f"{len(earlier)} earlier cohorts.")
    return Insight(key="month1_retention", category="retention", headline=headline, value=rate,
                   reference_value=reference, unit="share",
                   detail={"cohort_month": latest["cohort_month"].date().isoformat(),
                           "cohort_size": int(latest["cohort_size"])})


def high_risk_users(scores: pd.DataFrame, total_mrr: float) -> Insight | None:
    """How many users are high risk and the MRR they carry (scores: risk_band, mrr, churn_probability)."""
    if scores.empty:
        return None
    high = scores.loc[scores["risk_band"] == "high"]
    mrr = float(high["mrr"].astype(float).sum())
    paying = int((high["mrr"].astype(float) > 0).sum())
    share = mrr / total_mrr if total_mrr else 0.0
    return Insight(
        key="high_risk_users", category="churn",
        headline=(f"{len(high):,} of {len(scores):,} active users are at high churn risk; "
                  f"{paying:,} of them pay, carrying {_money(mrr)} MRR ({_pct(share)} of all MRR)."),
        value=float(len(high)), reference_value=float(len(scores)), unit="users",
        detail={"mrr": mrr, "paying_users": paying, "share_of_mrr": share, "total_mrr": total_mrr},
    )


def anomaly_insights(anomalies: pd.DataFrame, as_of: date, days: int = 14, limit: int = 3) -> list[Insight]:
    """The most recent KPI anomalies of the last `days` days (or one statement that there were none)."""
    since = as_of - timedelta(days=days - 1)
    recent = anomalies.loc[pd.to_datetime(anomalies["date"]).dt.date >= since] if not anomalies.empty else anomalies
    if recent.empty:
        return [Insight(key="anomalies_none", category="anomaly",
                        headline=f"No anomalies in daily signups, DAU or net new MRR in the {days} days to "
                                 f"{as_of:%b %d}.", value=0.0, unit="anomalies")]
    recent = recent.assign(_abs=recent["score"].abs()).sort_values(["date", "_abs"], ascending=[False, False])
    out = []
    for _, row in recent.head(limit).iterrows():
        day = pd.Timestamp(row["date"]).date()
        name = METRIC_NAMES.get(row["metric"], row["metric"])
        fmt = _money if row["metric"] == "net_new_mrr" else (lambda v: f"{v:,.0f}")
        expected = float(row["expected"])
        rel = _change(float(row["value"]), expected)
        rel_text = f" ({'+' if rel > 0 else '−'}{_pct(abs(rel))})" if rel is not None and expected > 0 else ""
        out.append(Insight(
            key=f"anomaly_{row['metric']}_{day.isoformat()}", category="anomaly",
            headline=(f"{name} on {day:%a %b %d}: {fmt(float(row['value']))} against an expected "
                      f"{fmt(expected)}{rel_text}, an unusual {'rise' if row['direction'] == 'up' else 'drop'} "
                      f"(score {float(row['score']):+.1f})."),
            value=float(row["value"]), reference_value=expected,
            unit="currency" if row["metric"] == "net_new_mrr" else "count",
            detail={"metric": row["metric"], "date": day.isoformat(), "score": float(row["score"])},
        ))
    return out


def largest_segments(profiles: pd.DataFrame, limit: int = 3) -> Insight | None:
    """The largest behavioural segments (profiles: segment_name, users, share)."""
    if profiles.empty:
        return None
    top = profiles.sort_values(["users", "segment_id"], ascending=[False, True]).head(limit)
    parts = [f"{r.segment_name} {_pct(float(r.share))} ({int(r.users):,})" for r in top.itertuples()]
    first = top.iloc[0]
    return Insight(key="largest_segments", category="segments",
                   headline=f"Largest behavioural segments: {', '.join(parts)}.",
                   value=float(first["share"]), unit="share",
                   detail={"segments": [{"name": r.segment_name, "users": int(r.users), "share": float(r.share)}
                                        for r in top.itertuples()]})


def model_quality(run: dict | None) -> Insight | None:
    """How good the churn model is on its temporal holdout, next to the shuffled-label baseline."""
    if not run:
        return None
    state = "promoted" if run["promoted"] else "recorded but not promoted"
    return Insight(
        key="churn_model", category="churn",
        headline=(f"Churn model {run['model_version']} ({state}) ranks churners with holdout ROC AUC "
                  f"{run['roc_auc']:.2f} (shuffled-label baseline {run['shuffled_roc_auc']:.2f}); its top 10% "
                  f"of scores hold {run['top_decile_lift']:.1f}× the base churn rate of {_pct(run['base_rate'])}."),
        value=float(run["roc_auc"]), reference_value=float(run["shuffled_roc_auc"]), unit="roc_auc",
        detail={"model_version": run["model_version"], "pr_auc": run["pr_auc"], "brier": run["brier"]},
    )


def build_insights(as_of: date, dau: pd.Series, cohorts: pd.DataFrame, scores: pd.DataFrame, total_mrr: float,
                   anomalies: pd.DataFrame, profiles: pd.DataFrame, model_run: dict | None) -> list[Insight]:
    """All statements for one as_of, in reading order (missing inputs simply drop their statement)."""
    items: list[Insight | None] = [
        dau_week_over_week(dau, as_of),
        month1_retention(cohorts, as_of),
        high_risk_users(scores, total_mrr),
        *anomaly_insights(anomalies, as_of),
        largest_segments(profiles),
        model_quality(model_run),
    ]
    return [i for i in items if i is not None]
