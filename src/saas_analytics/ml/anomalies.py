"""KPI anomalies: daily signups, DAU and net new MRR against a weekly-seasonal, outlier-robust baseline.

For every day `d` the baseline is a forecast from the `window_days` days before `d` only (never from
`d` itself or later, so a day's verdict does not change when tomorrow's data arrives):

* weekday factors — per weekday, the median ratio of the value to its centred 7-day mean (count
  metrics), or the median difference from it (net new MRR, which can be negative);
* level and trend — a Theil–Sen line (median of pairwise slopes) through the de-seasonalised history,
  extrapolated to `d`;
* spread — 1.4826 × the median absolute residual of that line (a robust standard deviation), with a
  floor from the metric's own noise model: √expected for counts (Poisson), and for net new MRR the
  root of the mean daily sum of squared MRR movements (a compound-Poisson standard deviation: a day
  with one business-plan signup more than usual is not an anomaly).

`score = (value − expected) / spread`. For counts the score is also computed on the variance-stabilised
Poisson scale, 2·(√(value + 3/8) − √(expected + 3/8)), and the smaller of the two in magnitude is kept:
a day is anomalous only if it is extreme both against the recent empirical spread and against pure
counting noise (6 signups on a day expecting 1 is not an incident). A day is an anomaly when
|score| ≥ `threshold`. Medians make the baseline robust to earlier anomalies (an outage does not drag
next week's expectation down).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import psycopg

from saas_analytics.queries import run_query

METRICS: tuple[str, ...] = ("signups", "dau", "net_new_mrr")
COUNT_METRICS = frozenset({"signups", "dau"})

@dataclass(frozen=True)
class AnomalyConfig:
    """Detector settings."""

    window_days: int = 56
    min_history_days: int = 28
    trend_days: int = 28
    threshold: float = 4.5
    mrr_threshold: float = 6.0


def read_daily_metrics(conn: psycopg.Connection, as_of: date) -> pd.DataFrame:
    """Daily signups, DAU and net new MRR (currency) from core, one row per day up to `as_of`, indexed by day."""
    frame = run_query(conn, "kpi_daily_series", {"as_of": as_of})
    if frame.empty:
        return pd.DataFrame(columns=list(METRICS), index=pd.Index([], name="day"), dtype=float)
    return frame.set_index("day").astype(float)


def _theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Robust line y = a + b·x: b the median pairwise slope, a the median intercept."""
    i, j = np.triu_indices(len(x), k=1)
    dx = x[j] - x[i]
    slope = float(np.median((y[j] - y[i])[dx != 0] / dx[dx != 0])) if (dx != 0).any() else 0.0
    return float(np.median(y - slope * x)), slope


def _weekday_effects(values: np.ndarray, weekdays: np.ndarray, multiplicative: bool) -> np.ndarray:
    """Seven weekday effects (factors averaging 1, or offsets averaging 0) from the centred 7-day mean."""
    level = pd.Series(values).rolling(7, center=True).mean().to_numpy()
    ok = ~np.isnan(level)
    if multiplicative:
        ok &= level > 0
    effects = np.ones(7) if multiplicative else np.zeros(7)
    for w in range(7):
        sel = ok & (weekdays == w)
        if sel.sum() >= 2:
            ratio = values[sel] / level[sel] if multiplicative else values[sel] - level[sel]
            effects[w] = float(np.median(ratio))
    if multiplicative:
        effects = np.where(effects > 0, effects, 1.0)
        return effects / effects.mean()
    return effects - effects.mean()


def baseline(series: pd.Series, config: AnomalyConfig | None = None, count: bool = True,
             movement_sq: pd.Series | None = None) -> pd.DataFrame:
    """Expected value, spread and score for every day of a daily series (index: dates, no gaps).

    `count`: a count metric (multiplicative weekday factors, Poisson floor); otherwise additive, with
    `movement_sq` (per day, the sum of squared individual movements) as the compound-Poisson floor.
    Days with fewer than `min_history_days` days of history get NaN.
    """
    config = config or AnomalyConfig()
    values = series.to_numpy(dtype=float)
    squares = movement_sq.to_numpy(dtype=float) if movement_sq is not None else np.zeros(len(values))
    days = pd.to_datetime(pd.Index(series.index))
    weekdays = days.dayofweek.to_numpy()
    n = len(values)
    expected, spread, poisson = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    for k in range(config.min_history_days, n):
        lo = max(0, k - config.window_days)
        hist, wd = values[lo:k], weekdays[lo:k]
        effects = _weekday_effects(hist, wd, multiplicative=count)
        deseason = hist / effects[wd] if count else hist - effects[wd]
        recent = min(config.trend_days, len(hist))
        x = np.arange(len(hist) - recent, len(hist), dtype=float)
        intercept, slope = _theil_sen(x, deseason[-recent:])
        resid = deseason[-recent:] - (intercept + slope * x)
        level = intercept + slope * len(hist)
        mad = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
        if count:
            level = max(level, 0.0)
            exp = level * effects[weekdays[k]]
            spread[k] = max(mad * effects[weekdays[k]], np.sqrt(max(exp, 1.0)))
            # the same deviation on the variance-stabilised (Anscombe) Poisson scale
            poisson[k] = 2.0 * (np.sqrt(values[k] + 0.375) - np.sqrt(exp + 0.375))
        else:
            exp = level + effects[weekdays[k]]
            spread[k] = max(mad, float(np.sqrt(squares[lo:k].mean())), 1.0)
        expected[k] = exp
    score = (values - expected) / spread
    if count:
        score = np.where(np.abs(poisson) < np.abs(score), poisson, score)
    return pd.DataFrame({"value": values, "expected": expected, "spread": spread, "score": score},
                        index=series.index)


def detect_anomalies(metrics: pd.DataFrame, config: AnomalyConfig | None = None,
                     since: date | None = None) -> pd.DataFrame:
    """Anomalous (metric, day) rows with value, expected, score and direction ('up' / 'down').

    `metrics`: daily frame indexed by day with METRICS columns (from `read_daily_metrics`).
    """
    config = config or AnomalyConfig()
    rows = []
    for metric in METRICS:
        if metric not in metrics:
            continue
        b = baseline(metrics[metric], config, count=metric in COUNT_METRICS,
                     movement_sq=metrics.get(f"{metric}_movement_sq"))
        limit = config.threshold if metric in COUNT_METRICS else config.mrr_threshold
        flagged = b[b["score"].abs() >= limit]
        for day, r in flagged.iterrows():
            if since is not None and day < since:
                continue
            rows.append({"metric": metric, "date": day, "value": r["value"], "expected": r["expected"],
                         "score": r["score"], "direction": "up" if r["score"] > 0 else "down"})
    columns = ["metric", "date", "value", "expected", "score", "direction"]
    return pd.DataFrame(rows, columns=columns).sort_values(["date", "metric"], ignore_index=True)


# what a planted incident (simulator.Incident) looks like in the KPIs: (metric, direction) pairs
INCIDENT_SIGNATURES: dict[str, frozenset[tuple[str, str]]] = {
    "outage": frozenset({("dau", "down"), ("signups", "down")}),
    "signup_spike": frozenset({("signups", "up")}),
}


@dataclass(frozen=True)
class IncidentMatch:
    """How detected anomalies compare with known incidents."""

    found: list[tuple[str, date]]
    missed: list[tuple[str, date]]
    false_alarm_days: list[date]

    @property
    def recall(self) -> float:
        """Share of incidents found (1.0 when there were none)."""
        total = len(self.found) + len(self.missed)
        return len(self.found) / total if total else 1.0


def match_incidents(anomalies: pd.DataFrame, incidents: list[tuple[str, date]]) -> IncidentMatch:
    """An incident is found when its day has an anomaly of its signature; any other flagged day is a false alarm."""
    flagged = {(pd.Timestamp(r.date).date(), r.metric, r.direction) for r in anomalies.itertuples()}
    found, missed = [], []
    for kind, day in incidents:
        hit = any((day, metric, direction) in flagged for metric, direction in INCIDENT_SIGNATURES[kind])
        (found if hit else missed).append((kind, day))
    incident_days = {day for _, day in incidents}
    false_days = sorted({day for day, _, _ in flagged} - incident_days)
    return IncidentMatch(found=found, missed=missed, false_alarm_days=false_days)
