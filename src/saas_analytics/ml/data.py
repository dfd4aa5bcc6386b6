"""Reading `core` into pandas: the inputs every ML function works on.

Only behavioural facts leave the database: user ids, event times, event names, platforms, feature
names, document ids and subscription amounts. No traits (emails, names, companies) are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import psycopg

from saas_analytics.queries import copy_query, run_query, scalar

EVENT_COLUMNS = ("user_id", "event_at", "received_at", "event_name", "platform", "feature", "document_id")
SUBSCRIPTION_COLUMNS = ("user_id", "event_at", "event_name", "plan", "billing_period", "mrr_cents")


@dataclass(frozen=True)
class CoreFrames:
    """The core facts the ML code reads, as DataFrames (times are UTC-aware pandas timestamps).

    events: one row per activity event of a person (EVENT_COLUMNS).
    subscriptions: one row per subscription event (SUBSCRIPTION_COLUMNS), mrr_cents after the event.
    """

    events: pd.DataFrame
    subscriptions: pd.DataFrame


def empty_events() -> pd.DataFrame:
    """An events frame with no rows and the right dtypes."""
    return normalise_events(pd.DataFrame({c: [] for c in EVENT_COLUMNS}))


def normalise_events(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce an events frame to the expected columns and dtypes (UTC timestamps, strings)."""
    out = frame.loc[:, list(EVENT_COLUMNS)].copy()
    for col in ("event_at", "received_at"):
        out[col] = pd.to_datetime(out[col], utc=True)
    for col in ("user_id", "event_name", "platform", "feature", "document_id"):
        out[col] = out[col].astype("object")
    return out.reset_index(drop=True)


def normalise_subscriptions(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce a subscriptions frame to the expected columns and dtypes."""
    out = frame.loc[:, list(SUBSCRIPTION_COLUMNS)].copy()
    out["event_at"] = pd.to_datetime(out["event_at"], utc=True)
    out["mrr_cents"] = pd.to_numeric(out["mrr_cents"]).astype("int64")
    for col in ("user_id", "event_name", "plan", "billing_period"):
        out[col] = out[col].astype("object")
    return out.reset_index(drop=True)


def latest_activity_date(conn: psycopg.Connection) -> date | None:
    """The data-driven `as_of` of a run: the latest UTC day with any user activity in core."""
    return scalar(conn, "latest_activity_date")


def month_total_mrr(conn: psycopg.Connection, as_of: date) -> float:
    """Total MRR (currency) of the month containing `as_of`, from core.fact_mrr_monthly (= mrr_monthly.mrr)."""
    return float(scalar(conn, "total_mrr_at", {"as_of": as_of}))


def read_core(conn: psycopg.Connection, since: date | None = None) -> CoreFrames:
    """Read the activity events from `since` on (default: all), every earlier signup, and all subscription events.

    Features look back at most 90 days, so `since` = earliest cut-off − 90 days loses nothing.
    """
    since = since or date(1970, 1, 1)
    events = copy_query(conn, "ml_events", {"since": since}, timestamps=("event_at", "received_at"))
    events = events.drop(columns="message_id") if "message_id" in events else events
    subs = run_query(conn, "ml_subscription_events")
    if events.empty:
        events = pd.DataFrame({c: [] for c in EVENT_COLUMNS})
    if subs.empty:
        subs = pd.DataFrame({c: [] for c in SUBSCRIPTION_COLUMNS})
    return CoreFrames(events=normalise_events(events), subscriptions=normalise_subscriptions(subs))
