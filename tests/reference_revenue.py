"""Independent pandas reference for the revenue analytics (DESIGN.md Contract 2: MRR, movements, revenue
rates, revenue cohorts) and for `analytics.billing_monthly`.

Input: the events frame of `reference_metrics.read_landing(...).events` (columns message_id, type, event,
user_id, ts, date, properties, load_order; `user_id` = the person, None = nobody). Nothing here reads the
database or imports warehouse code. Each person's month-end MRR is found by walking their events in time
order (a different route from the SQL's "closing event per month, carried forward").

Conventions of the outputs:
- months are `datetime.date` (the first day), UTC;
- counts are int64;
- money is `decimal.Decimal` with two decimals, rates are `decimal.Decimal` with six decimals, both
  rounded half up from the exact fraction (`fractions.Fraction`), None when the denominator is 0 — so
  they compare exactly with PostgreSQL's `numeric`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pandas as pd

SUBSCRIPTION_EVENTS = frozenset({"subscription_started", "subscription_changed", "subscription_cancelled"})
PAYMENT_EVENTS = ("payment_succeeded", "payment_failed")
ACTIVITY_TYPES = frozenset({"track", "page", "screen"})

PERSON_MONTH_COLUMNS = [
    "month", "user_id", "mrr_cents", "previous_mrr_cents", "movement", "movement_cents", "first_paid_month",
    "is_involuntary",
]
MRR_MONTHLY_COLUMNS = [
    "month", "mrr", "arr", "customers", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr",
    "reactivation_mrr", "net_new_mrr", "churned_mrr_involuntary", "customers_start", "new_customers",
    "reactivated_customers", "churned_customers", "customer_churn_rate", "grr", "nrr", "quick_ratio", "arpa", "ltv",
]
COHORT_COLUMNS = [
    "cohort_month", "months_since_first_paid", "cohort_customers", "starting_mrr", "active_customers", "mrr",
    "logo_retention", "revenue_retention",
]
BILLING_COLUMNS = [
    "month", "payments_succeeded", "amount_collected", "payments_failed", "amount_failed", "payment_failure_rate",
]
RATE_COLUMNS = {"customer_churn_rate", "grr", "nrr", "quick_ratio", "logo_retention", "revenue_retention",
                "payment_failure_rate"}
LTV_MONTHS = 6  # c pools months m-5 .. m


@dataclass(frozen=True)
class SubscriptionEvent:
    """One subscription event of a person, in the order the contract ranks them."""

    ts: pd.Timestamp
    load_order: int
    event: str
    mrr_cents: int
    reason: Any


def _month_index(day: date) -> int:
    """Months since year 0 (consecutive months differ by 1)."""
    return day.year * 12 + day.month - 1


def _month(index: int) -> date:
    """The first day of a month index."""
    return date(index // 12, index % 12 + 1, 1)


def _month_end(index: int) -> pd.Timestamp:
    """The instant a month ends (the next month's first midnight, UTC)."""
    nxt = _month(index + 1)
    return pd.Timestamp(nxt.year, nxt.month, 1, tz="UTC")


def _round(value: Fraction, places: int) -> Decimal:
    """Round a non-negative fraction half up to `places` decimals, exactly."""
    scaled = value * 10**places
    return Decimal(math.floor(scaled + Fraction(1, 2))).scaleb(-places)


def _money(cents: int | Fraction) -> Decimal:
    """Currency units (two decimals) of an amount in cents."""
    return _round(Fraction(cents) / 100, 2)


def _rate(numerator: int, denominator: int) -> Decimal | None:
    """A six-decimal fraction, None when the denominator is 0."""
    return None if denominator == 0 else _round(Fraction(numerator, denominator), 6)


def _activity_months(events: pd.DataFrame) -> pd.Series:
    """Month index of every activity event (track/page/screen attributed to a person)."""
    activity = events[events["type"].isin(ACTIVITY_TYPES) & events["user_id"].notna()]
    return activity["date"].map(_month_index)


def subscription_histories(events: pd.DataFrame) -> dict[str, list[SubscriptionEvent]]:
    """Per person: their subscription events, ordered by timestamp then load order."""
    subs = events[(events["type"] == "track") & events["event"].isin(SUBSCRIPTION_EVENTS) & events["user_id"].notna()]
    histories: dict[str, list[SubscriptionEvent]] = {}
    for row in subs.itertuples(index=False):
        histories.setdefault(row.user_id, []).append(SubscriptionEvent(
            row.ts, int(row.load_order), row.event, int(row.properties["mrr_cents"]), row.properties.get("reason")))
    for history in histories.values():
        history.sort(key=lambda e: (e.ts, e.load_order))
    return histories


def person_months(events: pd.DataFrame) -> pd.DataFrame:
    """One row per person per month from their first subscription event's month to the latest activity month."""
    histories = subscription_histories(events)
    months = _activity_months(events)
    if not histories or months.empty:
        return pd.DataFrame(columns=PERSON_MONTH_COLUMNS)
    last = int(months.max())
    rows = []
    for user_id, history in histories.items():
        first = _month_index(history[0].ts.date())
        states: list[tuple[int, int, SubscriptionEvent | None]] = []
        for index in range(first, last + 1):
            before_end = [e for e in history if e.ts < _month_end(index)]
            latest = before_end[-1] if before_end else None  # sorted: the last one is the latest (ties: later load)
            states.append((index, latest.mrr_cents if latest else 0, latest))
        paid = [index for index, cents, _ in states if cents > 0]
        first_paid = _month(paid[0]) if paid else None
        previous = 0
        ever_paid = False
        for index, cents, latest in states:
            if previous == 0 and cents > 0:
                movement, amount = ("reactivation" if ever_paid else "new"), cents
            elif previous > 0 and cents == 0:
                movement, amount = "churned", previous
            elif previous > 0 and cents > previous:
                movement, amount = "expansion", cents - previous
            elif 0 < cents < previous:
                movement, amount = "contraction", previous - cents
            else:
                movement, amount = "none", 0
            involuntary = (movement == "churned" and latest is not None and latest.event == "subscription_cancelled"
                           and latest.reason == "payment_failed")
            rows.append((_month(index), user_id, cents, previous, movement, amount, first_paid, involuntary))
            ever_paid = ever_paid or cents > 0
            previous = cents
    frame = pd.DataFrame(rows, columns=PERSON_MONTH_COLUMNS)
    return frame.sort_values(["user_id", "month"]).reset_index(drop=True)


def mrr_monthly(events: pd.DataFrame) -> pd.DataFrame:
    """Every column of `analytics.mrr_monthly`, for each month from the first subscription to the latest activity."""
    people = person_months(events)
    if people.empty:
        return pd.DataFrame(columns=MRR_MONTHLY_COLUMNS)
    first, last = _month_index(people["month"].min()), _month_index(people["month"].max())
    sums = []
    for index in range(first, last + 1):
        rows = people[people["month"] == _month(index)]

        def cents(movement: str, rows: pd.DataFrame = rows) -> int:
            return int(sum(rows.loc[rows["movement"] == movement, "movement_cents"]))

        def count(movement: str, rows: pd.DataFrame = rows) -> int:
            return int((rows["movement"] == movement).sum())

        sums.append({
            "index": index, "mrr": int(sum(rows["mrr_cents"])), "start": int(sum(rows["previous_mrr_cents"])),
            "customers": int((rows["mrr_cents"] > 0).sum()),
            "customers_start": int((rows["previous_mrr_cents"] > 0).sum()),
            "new": cents("new"), "reactivation": cents("reactivation"), "expansion": cents("expansion"),
            "contraction": cents("contraction"), "churned": cents("churned"),
            "involuntary": int(sum(rows.loc[rows["is_involuntary"].astype(bool), "movement_cents"])),
            "new_customers": count("new"), "reactivated_customers": count("reactivation"),
            "churned_customers": count("churned"),
        })
    out = []
    for k, s in enumerate(sums):
        window = sums[max(0, k - LTV_MONTHS + 1): k + 1]
        churned_6m = sum(w["churned_customers"] for w in window)
        start_6m = sum(w["customers_start"] for w in window)
        ltv = None
        if s["customers"] > 0 and churned_6m > 0 and start_6m > 0:
            arpa_cents = Fraction(s["mrr"], s["customers"])
            ltv = _money(arpa_cents / Fraction(churned_6m, start_6m))
        out.append({
            "month": _month(s["index"]),
            "mrr": _money(s["mrr"]),
            "arr": _money(12 * s["mrr"]),
            "customers": s["customers"],
            "new_mrr": _money(s["new"]),
            "expansion_mrr": _money(s["expansion"]),
            "contraction_mrr": _money(s["contraction"]),
            "churned_mrr": _money(s["churned"]),
            "reactivation_mrr": _money(s["reactivation"]),
            "net_new_mrr": _money(s["mrr"] - s["start"]),
            "churned_mrr_involuntary": _money(s["involuntary"]),
            "customers_start": s["customers_start"],
            "new_customers": s["new_customers"],
            "reactivated_customers": s["reactivated_customers"],
            "churned_customers": s["churned_customers"],
            "customer_churn_rate": _rate(s["churned_customers"], s["customers_start"]),
            "grr": _rate(s["start"] - s["contraction"] - s["churned"], s["start"]),
            "nrr": _rate(s["start"] + s["expansion"] - s["contraction"] - s["churned"], s["start"]),
            "quick_ratio": _rate(s["new"] + s["reactivation"] + s["expansion"], s["contraction"] + s["churned"]),
            "arpa": _money(Fraction(s["mrr"], s["customers"])) if s["customers"] else None,
            "ltv": ltv,
        })
    frame = pd.DataFrame(out, columns=MRR_MONTHLY_COLUMNS)
    return frame.astype({c: "int64" for c in ("customers", "customers_start", "new_customers",
                                               "reactivated_customers", "churned_customers")})


def revenue_retention_cohorts(events: pd.DataFrame) -> pd.DataFrame:
    """First-paid-month cohorts x months since, to the latest month of mrr_monthly."""
    people = person_months(events)
    if people.empty:
        return pd.DataFrame(columns=COHORT_COLUMNS)
    last = _month_index(people["month"].max())
    by_person = {user: part.set_index("month")["mrr_cents"] for user, part in people.groupby("user_id")}
    first_paid = people.drop_duplicates("user_id").set_index("user_id")["first_paid_month"].dropna()
    rows = []
    for cohort, members in first_paid.groupby(first_paid):
        start = _month_index(cohort)
        amounts = {offset: [int(by_person[user].get(_month(start + offset), 0)) for user in members.index]
                   for offset in range(last - start + 1)}
        cohort_customers = len(members)
        starting = sum(amounts[0])
        for offset, values in amounts.items():
            active = sum(1 for v in values if v > 0)
            rows.append((cohort, offset, cohort_customers, _money(starting), active, _money(sum(values)),
                         _rate(active, cohort_customers), _rate(sum(values), starting)))
    frame = pd.DataFrame(rows, columns=COHORT_COLUMNS)
    return frame.astype({"months_since_first_paid": "int64", "cohort_customers": "int64",
                         "active_customers": "int64"})


def _amount_cents(properties: dict[str, Any]) -> Fraction:
    """A payment's amount in cents: a JSON number, else 0 (the payment still counts)."""
    value = properties.get("amount_cents")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Fraction(0)
    return Fraction(Decimal(repr(value)))


def billing_monthly(events: pd.DataFrame) -> pd.DataFrame:
    """Payments succeeded and failed (count, amount) per month, first payment month to latest activity month."""
    payments = events[(events["type"] == "track") & events["event"].isin(PAYMENT_EVENTS)]
    if payments.empty:
        return pd.DataFrame(columns=BILLING_COLUMNS)
    month = payments["date"].map(_month_index)
    activity = _activity_months(events)
    first = int(month.min())
    last = max([int(month.max()), *([int(activity.max())] if len(activity) else [])])
    rows = []
    for index in range(first, last + 1):
        this = payments[month == index]
        ok, failed = this[this["event"] == "payment_succeeded"], this[this["event"] == "payment_failed"]
        rows.append((_month(index), len(ok), _money(sum((_amount_cents(p) for p in ok["properties"]), Fraction(0))),
                     len(failed), _money(sum((_amount_cents(p) for p in failed["properties"]), Fraction(0))),
                     _rate(len(failed), len(ok) + len(failed))))
    frame = pd.DataFrame(rows, columns=BILLING_COLUMNS)
    return frame.astype({"payments_succeeded": "int64", "payments_failed": "int64"})
