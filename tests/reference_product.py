"""Independent pandas reference for the product analytics (DESIGN.md Contract 2): lifecycle, funnels,
sessions, acquisition and retention maturity.

Inputs are `reference_metrics.read_landing(...).events` frames (message_id, type, event, user_id, ts, date,
properties, load_order; `user_id` is the person, None for nobody). Nothing here reads the database or imports
warehouse code: funnels are read from the YAML file with PyYAML directly. Conventions: days and months are
`datetime.date`, counts int64, rates and seconds float64 (NaN when undefined).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

ACTIVITY_TYPES = frozenset({"track", "page", "screen"})
SESSION_GAP = pd.Timedelta(minutes=30)
LIFECYCLE_COLUMNS = [
    "period", "period_start", "active_users", "new_users", "returning_users", "resurrecting_users",
    "dormant_users", "is_complete",
]
SESSION_COLUMNS = ["user_id", "started_at", "ended_at", "session_date", "duration_seconds", "events"]
DAILY_SESSION_COLUMNS = [
    "activity_date", "sessions", "users", "avg_session_seconds", "median_session_seconds", "avg_events_per_session",
]
FUNNEL_COLUMNS = [
    "funnel", "cohort_month", "step", "entered_users", "eligible_users", "in_progress_users", "reached_users",
    "conversion_rate", "step_conversion_rate", "median_seconds_to_step",
]
ACQUISITION_COLUMNS = [
    "signup_month", "channel", "signups", "activated_users", "paid_users", "activation_rate", "paid_conversion_rate",
]
SUBSCRIPTION_EVENTS = frozenset({"subscription_started", "subscription_changed", "subscription_cancelled"})


def activity(events: pd.DataFrame) -> pd.DataFrame:
    """Activity events: track, page or screen calls attributed to a person."""
    return events[events["type"].isin(ACTIVITY_TYPES) & events["user_id"].notna()]


def _rate(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is 0."""
    return float(numerator) / float(denominator) if denominator else float("nan")


def _median(values: list[float]) -> float:
    """The middle value, or the mean of the two middle values; NaN for no values."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return float("nan")
    return float(ordered[n // 2]) if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2.0


# ---------------------------------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------------------------------

def _period_index(kind: str, day: date) -> int:
    """Consecutive integer index of the day's period (day, ISO week from Monday, month)."""
    if kind == "day":
        return day.toordinal()
    if kind == "week":
        return (day.toordinal() - day.weekday()) // 7
    return day.year * 12 + day.month - 1


def _period_bounds(kind: str, index: int) -> tuple[date, date]:
    """First and last day of the period with this index."""
    if kind == "day":
        day = date.fromordinal(index)
        return day, day
    if kind == "week":
        monday = date.fromordinal(index * 7)
        while monday.weekday() != 0:  # index * 7 is the Monday's ordinal rounded down; step to it
            monday += timedelta(days=1)
        return monday, monday + timedelta(days=6)
    first = date(index // 12, index % 12 + 1, 1)
    following = date((index + 1) // 12, (index + 1) % 12 + 1, 1)
    return first, following - timedelta(days=1)


def user_lifecycle(events: pd.DataFrame) -> pd.DataFrame:
    """New / returning / resurrecting / dormant persons per day, ISO week and month."""
    act = activity(events)
    if act.empty:
        return pd.DataFrame(columns=LIFECYCLE_COLUMNS)
    person_days = set(zip(act["user_id"], act["date"], strict=True))
    latest_day = max(day for _, day in person_days)
    rows = []
    for kind in ("day", "week", "month"):
        active: dict[int, set[str]] = {}
        first: dict[str, int] = {}
        for person, day in person_days:
            index = _period_index(kind, day)
            active.setdefault(index, set()).add(person)
            first[person] = min(first.get(person, index), index)
        for index in range(min(active), max(active) + 1):
            now, before = active.get(index, set()), active.get(index - 1, set())
            new = {p for p in now if first[p] == index}
            returning = now & before
            resurrecting = now - before - new
            start, end = _period_bounds(kind, index)
            rows.append((kind, start, len(new) + len(returning) + len(resurrecting), len(new), len(returning),
                         len(resurrecting), len(before - now), end <= latest_day))
    frame = pd.DataFrame(rows, columns=LIFECYCLE_COLUMNS)
    counts = LIFECYCLE_COLUMNS[2:7]
    return frame.astype(dict.fromkeys(counts, np.int64) | {"is_complete": bool})


# ---------------------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------------------

def sessions(events: pd.DataFrame) -> pd.DataFrame:
    """Every session: a person's activity events in time order, split where a gap exceeds 30 minutes."""
    act = activity(events).sort_values(["user_id", "ts", "load_order"])
    out = []
    for person, group in act.groupby("user_id", sort=True):
        times = list(group["ts"])
        start = previous = times[0]
        count = 0
        for ts in times:
            if ts - previous > SESSION_GAP:
                out.append((person, start, previous, count))
                start, count = ts, 0
            previous = ts
            count += 1
        out.append((person, start, previous, count))
    frame = pd.DataFrame(out, columns=["user_id", "started_at", "ended_at", "events"])
    frame["session_date"] = [ts.date() for ts in frame["started_at"]]
    frame["duration_seconds"] = [(e - s).total_seconds() for s, e in zip(frame["started_at"], frame["ended_at"],
                                                                           strict=True)]
    return frame.astype({"events": np.int64})[SESSION_COLUMNS]


def daily_sessions(events: pd.DataFrame) -> pd.DataFrame:
    """Per UTC day from the first to the last session day: sessions, users, mean/median length, mean events."""
    frame = sessions(events)
    if frame.empty:
        return pd.DataFrame(columns=DAILY_SESSION_COLUMNS)
    first, last = min(frame["session_date"]), max(frame["session_date"])
    rows = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        today = frame[frame["session_date"] == day]
        lengths = list(today["duration_seconds"])
        rows.append((day, len(today), today["user_id"].nunique(),
                     float(np.mean(lengths)) if lengths else float("nan"), _median(lengths),
                     float(today["events"].mean()) if lengths else float("nan")))
    return pd.DataFrame(rows, columns=DAILY_SESSION_COLUMNS).astype({"sessions": np.int64, "users": np.int64})


# ---------------------------------------------------------------------------------------------------
# Funnels
# ---------------------------------------------------------------------------------------------------

def read_funnels(path: str | Path) -> list[dict[str, Any]]:
    """The funnel list of a funnels YAML file (no validation: that is the warehouse's job)."""
    return yaml.safe_load(Path(path).read_text())["funnels"]


def _matches(step: dict[str, Any], event: Any, properties: dict[str, Any]) -> bool:
    """True when an event has the step's name and every `where` property value."""
    where = step.get("where") or {}
    return event == step["event"] and all(key in properties and properties[key] == value
                                          for key, value in where.items())


def funnel_progress(events: pd.DataFrame, funnel: dict[str, Any]) -> dict[str, list[pd.Timestamp]]:
    """Per entering person: [t1, t2, ...] up to the last step reached within the window."""
    window = pd.Timedelta(days=int(funnel["window_days"]))
    steps = funnel["steps"]
    attributed = events[events["user_id"].notna()].sort_values(["ts", "load_order"])
    per_person: dict[str, list[tuple[pd.Timestamp, Any, dict[str, Any]]]] = {}
    for person, ts, event, props in zip(attributed["user_id"], attributed["ts"], attributed["event"],
                                        attributed["properties"], strict=True):
        per_person.setdefault(person, []).append((ts, event, props))
    progress = {}
    for person, person_events in per_person.items():
        entries = [ts for ts, event, props in person_events if _matches(steps[0], event, props)]
        if not entries:
            continue
        times = [min(entries)]
        for step in steps[1:]:
            candidates = [ts for ts, event, props in person_events
                          if _matches(step, event, props) and ts >= times[-1] and ts <= times[0] + window]
            if not candidates:
                break
            times.append(min(candidates))
        progress[person] = times
    return progress


def funnel_conversion(events: pd.DataFrame, funnels: list[dict[str, Any]]) -> pd.DataFrame:
    """Right-censored funnel conversion per funnel, entry month and step."""
    if events.empty:
        return pd.DataFrame(columns=FUNNEL_COLUMNS)
    data_through = events["ts"].max()
    rows = []
    for funnel in funnels:
        window = pd.Timedelta(days=int(funnel["window_days"]))
        progress = funnel_progress(events, funnel)
        if not progress:
            continue
        by_month: dict[int, list[list[pd.Timestamp]]] = {}
        for times in progress.values():
            month = times[0].year * 12 + times[0].month - 1
            by_month.setdefault(month, []).append(times)
        for month in range(min(by_month), max(by_month) + 1):
            entrants = by_month.get(month, [])
            eligible = [times for times in entrants if times[0] + window <= data_through]
            previous = None
            for step in range(1, len(funnel["steps"]) + 1):
                reached = [times for times in eligible if len(times) >= step]
                seconds = [(times[step - 1] - times[0]).total_seconds() for times in reached]
                rows.append((
                    funnel["name"], date(month // 12, month % 12 + 1, 1), step, len(entrants), len(eligible),
                    len(entrants) - len(eligible), len(reached), _rate(len(reached), len(eligible)),
                    float("nan") if previous is None else _rate(len(reached), previous), _median(seconds),
                ))
                previous = len(reached)
    frame = pd.DataFrame(rows, columns=FUNNEL_COLUMNS)
    counts = ["step", "entered_users", "eligible_users", "in_progress_users", "reached_users"]
    return frame.astype(dict.fromkeys(counts, np.int64))


# ---------------------------------------------------------------------------------------------------
# Acquisition and retention maturity
# ---------------------------------------------------------------------------------------------------

def _channel(properties: dict[str, Any], context: Any) -> str:
    """properties.channel, else context.campaign.source, else 'unknown'."""
    channel = properties.get("channel")
    if channel is None and isinstance(context, dict) and isinstance(context.get("campaign"), dict):
        channel = context["campaign"].get("source")
    if channel is None:
        return "unknown"
    return channel if isinstance(channel, str) else json.dumps(channel)


def acquisition_monthly(events: pd.DataFrame, funnels: list[dict[str, Any]]) -> pd.DataFrame:
    """Signups per signup month and channel, with activated (last activation step) and paid within 30 days."""
    attributed = events[events["user_id"].notna()]
    signed = attributed[(attributed["type"] == "track") & (attributed["event"] == "signed_up")]
    if signed.empty:
        return pd.DataFrame(columns=ACQUISITION_COLUMNS)
    first = signed.sort_values(["ts", "load_order"]).drop_duplicates("user_id", keep="first")
    contexts = first["context"] if "context" in first.columns else [None] * len(first)
    activation = next(f for f in funnels if f["name"] == "activation")
    activated = {p for p, times in funnel_progress(events, activation).items()
                 if len(times) == len(activation["steps"])}
    subs = attributed[(attributed["type"] == "track") & attributed["event"].isin(SUBSCRIPTION_EVENTS)]
    paid_times: dict[str, list[pd.Timestamp]] = {}
    for person, ts, props in zip(subs["user_id"], subs["ts"], subs["properties"], strict=True):
        if props.get("mrr_cents", 0) > 0:
            paid_times.setdefault(person, []).append(ts)
    people = []
    for person, ts, props, context in zip(first["user_id"], first["ts"], first["properties"], contexts,
                                          strict=True):
        paid = any(ts <= t <= ts + pd.Timedelta(days=30) for t in paid_times.get(person, []))
        people.append((ts.year * 12 + ts.month - 1, _channel(props, context), person in activated, paid))
    channels = sorted({channel for _, channel, _, _ in people})
    months = range(min(p[0] for p in people), max(p[0] for p in people) + 1)
    rows = []
    for month in months:
        for channel in channels:
            group = [p for p in people if p[0] == month and p[1] == channel]
            n, a, c = len(group), sum(p[2] for p in group), sum(p[3] for p in group)
            rows.append((date(month // 12, month % 12 + 1, 1), channel, n, a, c, _rate(a, n), _rate(c, n)))
    frame = pd.DataFrame(rows, columns=ACQUISITION_COLUMNS)
    return frame.astype({"signups": np.int64, "activated_users": np.int64, "paid_users": np.int64})


def retention_is_complete(cohorts: pd.DataFrame, events: pd.DataFrame) -> list[bool]:
    """Per retention row (cohort_month, months_since_signup): month cohort_month + k has ended by the
    latest activity day."""
    act = activity(events)
    if act.empty:
        return []
    latest = max(act["date"])
    out = []
    for cohort, k in zip(cohort_month_numbers(cohorts), cohorts["months_since_signup"], strict=True):
        month = cohort + int(k) + 1
        out.append(date(month // 12, month % 12 + 1, 1) - timedelta(days=1) <= latest)
    return out


def cohort_month_numbers(cohorts: pd.DataFrame) -> list[int]:
    """Month numbers (year * 12 + month - 1) of the cohort_month column."""
    return [day.year * 12 + day.month - 1 for day in cohorts["cohort_month"]]
