"""Point-in-time user features: one function for training and for scoring, with an explicit cut-off.

`build_features(events, subscriptions, cutoff)` describes every user as known at midnight UTC that
starts `cutoff`: it reads only events that happened **and** were received strictly before the cut-off
(an event stamped before the cut-off but received after it was not in the warehouse yet), and
subscription events strictly before it. Nothing on or after the cut-off can change a feature row,
which is what makes labels built from the following 30 days honest (see `tests/.../test_features.py`).

The churn observation for date `t` uses cut-off `t`; scoring "as of" day `d` (data through the end of
`d`) uses cut-off `d + 1 day`.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from saas_analytics.ml.data import normalise_events, normalise_subscriptions

PLATFORMS = ("web", "ios", "android")
FEATURE_LOOKBACK_DAYS = 90  # the longest window any feature looks back (tenure aside: signups are always read)
PAID_PLANS = ("starter", "pro", "business")

# numeric features the models use, in a fixed order (readable units: counts, days, shares, currency)
FEATURE_COLUMNS: tuple[str, ...] = (
    "tenure_days",
    "recency_days",
    "events_7d",
    "events_30d",
    "events_90d",
    "events_trend_7d",
    "events_trend_30d",
    "active_days_7d",
    "active_days_30d",
    "active_days_90d",
    "sessions_30d",
    "feature_uses_30d",
    "distinct_features_30d",
    "distinct_features_90d",
    "document_events_30d",
    "documents_created_30d",
    "documents_shared_30d",
    "distinct_documents_30d",
    "invites_90d",
    "web_share_90d",
    "ios_share_90d",
    "android_share_90d",
    "mrr",
    "is_paying",
    "annual_billing",
    "plan_starter",
    "plan_pro",
    "plan_business",
    "cancellations_90d",
)
# readable descriptions for drivers, profiles and docs
FEATURE_LABELS: dict[str, str] = {
    "tenure_days": "days since signup",
    "recency_days": "days since last activity",
    "events_7d": "events in the last 7 days",
    "events_30d": "events in the last 30 days",
    "events_90d": "events in the last 90 days",
    "events_trend_7d": "events trend, last 7 vs previous 7 days (log ratio)",
    "events_trend_30d": "events trend, last 30 vs previous 30 days (log ratio)",
    "active_days_7d": "active days in the last 7 days",
    "active_days_30d": "active days in the last 30 days",
    "active_days_90d": "active days in the last 90 days",
    "sessions_30d": "sessions in the last 30 days",
    "feature_uses_30d": "feature uses in the last 30 days",
    "distinct_features_30d": "distinct features used in the last 30 days",
    "distinct_features_90d": "distinct features used in the last 90 days",
    "document_events_30d": "document events in the last 30 days",
    "documents_created_30d": "documents created in the last 30 days",
    "documents_shared_30d": "documents shared in the last 30 days",
    "distinct_documents_30d": "distinct documents touched in the last 30 days",
    "invites_90d": "teammates invited in the last 90 days",
    "web_share_90d": "share of events on web (90 days)",
    "ios_share_90d": "share of events on iOS (90 days)",
    "android_share_90d": "share of events on Android (90 days)",
    "mrr": "MRR (currency units)",
    "is_paying": "paying customer (MRR > 0)",
    "annual_billing": "billed annually",
    "plan_starter": "on the starter plan",
    "plan_pro": "on the pro plan",
    "plan_business": "on the business plan",
    "cancellations_90d": "subscription cancellations in the last 90 days",
}
OUTPUT_COLUMNS: tuple[str, ...] = (*FEATURE_COLUMNS, "plan")


def cutoff_timestamp(cutoff: date) -> pd.Timestamp:
    """Midnight UTC at the start of `cutoff`: everything strictly before it is known."""
    return pd.Timestamp(cutoff.isoformat(), tz="UTC")


def scoring_cutoff(as_of: date) -> date:
    """The cut-off that includes all of day `as_of`."""
    return as_of + timedelta(days=1)


def _day_numbers(stamps: pd.Series) -> np.ndarray:
    """UTC day numbers (days since 1970-01-01) of timestamps."""
    return stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[D]").astype(np.int64)


def _day_number(day: date) -> int:
    """Days since 1970-01-01."""
    return (day - date(1970, 1, 1)).days


def known_events(events: pd.DataFrame, cutoff: date) -> pd.DataFrame:
    """The events that happened and were received strictly before the cut-off."""
    t = cutoff_timestamp(cutoff)
    received = events["received_at"]
    keep = (events["event_at"] < t) & (received.isna() | (received < t))
    return events.loc[keep]


def _distinct(codes: np.ndarray, values: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """Per user: the number of distinct non-null `values` among the rows in `mask`."""
    pairs = pd.DataFrame({"u": codes[mask], "v": values[mask]}).dropna().drop_duplicates()
    return np.bincount(pairs["u"].to_numpy(dtype=np.int64), minlength=n).astype(float)


def _empty_features() -> pd.DataFrame:
    """A feature frame with no users."""
    frame = pd.DataFrame({c: pd.Series(dtype=float) for c in FEATURE_COLUMNS})
    frame["plan"] = pd.Series(dtype=object)
    frame.index = pd.Index([], name="user_id", dtype=object)
    return frame


def build_features(events: pd.DataFrame, subscriptions: pd.DataFrame, cutoff: date) -> pd.DataFrame:
    """One row per user with at least one known track event before `cutoff`, indexed by user_id (sorted).

    Columns: FEATURE_COLUMNS (floats, readable units) and `plan` (free/starter/pro/business).
    """
    events = normalise_events(events)
    subscriptions = normalise_subscriptions(subscriptions)
    ev = known_events(events, cutoff)
    if ev.empty:
        return _empty_features()
    codes, users = pd.factorize(ev["user_id"], sort=True)
    n = len(users)
    age = _day_number(cutoff) - _day_numbers(ev["event_at"])  # 1 = the day before the cut-off
    name = ev["event_name"].to_numpy(dtype=object)
    day = age.astype(float)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes[mask], minlength=n).astype(float)

    w7, w30, w90 = age <= 7, age <= 30, age <= 90
    prev7 = (age > 7) & (age <= 14)
    prev30 = (age > 30) & (age <= 60)
    out: dict[str, np.ndarray] = {}
    signup_age = pd.Series(np.where(name == "signed_up", age, -1)).groupby(codes).max().to_numpy()
    first_age = pd.Series(age).groupby(codes).max().to_numpy()
    out["tenure_days"] = np.where(signup_age > 0, signup_age, first_age).astype(float)
    out["recency_days"] = pd.Series(age).groupby(codes).min().to_numpy().astype(float)
    out["events_7d"], out["events_30d"], out["events_90d"] = count(w7), count(w30), count(w90)
    out["events_trend_7d"] = np.log1p(out["events_7d"]) - np.log1p(count(prev7))
    out["events_trend_30d"] = np.log1p(out["events_30d"]) - np.log1p(count(prev30))
    out["active_days_7d"] = _distinct(codes, day, w7, n)
    out["active_days_30d"] = _distinct(codes, day, w30, n)
    out["active_days_90d"] = _distinct(codes, day, w90, n)
    out["sessions_30d"] = count(w30 & (name == "session_started"))
    out["feature_uses_30d"] = count(w30 & (name == "feature_used"))
    feature = ev["feature"].to_numpy(dtype=object)
    out["distinct_features_30d"] = _distinct(codes, feature, w30, n)
    out["distinct_features_90d"] = _distinct(codes, feature, w90, n)
    document = ev["document_id"].to_numpy(dtype=object)
    has_doc = pd.notna(document)
    out["document_events_30d"] = count(w30 & has_doc)
    out["documents_created_30d"] = count(w30 & (name == "document_created"))
    out["documents_shared_30d"] = count(w30 & (name == "document_shared"))
    out["distinct_documents_30d"] = _distinct(codes, document, w30, n)
    out["invites_90d"] = count(w90 & (name == "invited_teammate"))
    platform = ev["platform"].to_numpy(dtype=object)
    total90 = np.maximum(out["events_90d"], 1.0)
    for p in PLATFORMS:
        out[f"{p}_share_90d"] = count(w90 & (platform == p)) / total90
    out["cancellations_90d"] = count(w90 & (name == "subscription_cancelled"))
    frame = pd.DataFrame(out, index=pd.Index(users, name="user_id"))
    frame = frame.join(_plan_features(subscriptions, cutoff), how="left")
    for col in ("mrr", "is_paying", "annual_billing", "plan_starter", "plan_pro", "plan_business"):
        frame[col] = frame[col].fillna(0.0).astype(float)
    frame["plan"] = frame["plan"].fillna("free")
    return frame.loc[:, list(OUTPUT_COLUMNS)]


def _plan_features(subscriptions: pd.DataFrame, cutoff: date) -> pd.DataFrame:
    """Per user with a subscription event before the cut-off: MRR, plan and billing after the latest one."""
    subs = subscriptions.loc[subscriptions["event_at"] < cutoff_timestamp(cutoff)]
    cols = ["mrr", "is_paying", "annual_billing", "plan_starter", "plan_pro", "plan_business", "plan"]
    if subs.empty:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="user_id"))
    last = subs.sort_values(["user_id", "event_at"], kind="stable").groupby("user_id").tail(1).set_index("user_id")
    paying = last["mrr_cents"] > 0
    plan = last["plan"].where(paying, "free")
    out = pd.DataFrame(index=last.index)
    out["mrr"] = last["mrr_cents"].astype(float) / 100.0
    out["is_paying"] = paying.astype(float)
    out["annual_billing"] = (paying & (last["billing_period"] == "annual")).astype(float)
    for p in PAID_PLANS:
        out[f"plan_{p}"] = (plan == p).astype(float)
    out["plan"] = plan.astype(object)
    return out


# ---------------------------------------------------------------------------------------------
# observation dates, population and labels


def observation_dates(first_day: date, as_of: date, every_days: int = 7) -> list[date]:
    """Observation dates: every `every_days` days (Mondays for 7), after `first_day`, up to the scoring cut-off.

    Anchored on the calendar (not on `as_of`), so tomorrow's run sees the same grid plus new dates.
    """
    anchor = date(2001, 1, 1)  # a Monday
    start = first_day + timedelta(days=1)
    offset = (-(start - anchor).days) % every_days
    first = start + timedelta(days=offset)
    last = scoring_cutoff(as_of)
    out, t = [], first
    while t <= last:
        out.append(t)
        t += timedelta(days=every_days)
    return out


def is_labelled(obs_date: date, as_of: date, horizon_days: int = 30) -> bool:
    """True when the whole label horizon [obs_date, obs_date + horizon) is in the data (through `as_of`)."""
    return obs_date + timedelta(days=horizon_days) <= scoring_cutoff(as_of)


def in_population(features: pd.DataFrame, active_within_days: int = 30) -> pd.Series:
    """Users active (any track event) in the `active_within_days` days before the cut-off."""
    return features["recency_days"] <= active_within_days


def churn_labels(events: pd.DataFrame, obs_date: date, users: pd.Index, horizon_days: int = 30) -> pd.Series:
    """1 = no valid track event in [obs_date, obs_date + horizon), else 0, for each of `users`."""
    start = cutoff_timestamp(obs_date)
    end = cutoff_timestamp(obs_date + timedelta(days=horizon_days))
    at = events["event_at"]
    returned = set(events.loc[(at >= start) & (at < end), "user_id"].unique())
    return pd.Series([0 if u in returned else 1 for u in users], index=users, name="churned", dtype=np.int64)
