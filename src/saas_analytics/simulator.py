"""Seeded, Faker-based simulator of a SaaS product's Segment-style event stream (DESIGN.md, Contract 1).

`simulate()` writes one gzip JSON Lines file per UTC day into the landing folder: by default Segment
calls in camelCase (track, page, screen, identify, group, alias; anonymous visits before signup,
stitched by an identify at signup or one that comes days later) in Hive folders
`date=YYYY-MM-DD/events.jsonl.gz`; with `fmt="snake"` the original snake_case track/identify stream
in flat `events_YYYY-MM-DD.jsonl.gz` files. Paid plans are charged each period (`payment_succeeded` /
`payment_failed` with `amount_cents`); a charge that fails every retry cancels the plan with
`reason = payment_failed`. The product is a collaborative document tool: signups grow with weekly seasonality,
engagement decays with tenure and fades for two to four weeks before a user stops or cancels,
trials convert (or not) into monthly or annual plans that later change, cancel and reactivate.
On purpose, a small share of lines is malformed, duplicated (identical line re-sent) or late.

Determinism: the same `SimulationConfig` (seed included) gives byte-identical files with the same
numpy, Faker and zlib versions; nothing reads the clock. A file holds the events whose
`received_at` falls on its UTC day; events received after the last simulated day (late arrivals,
or a few seconds past the final midnight) are dropped as "not yet arrived".
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from faker import Faker

__all__ = [
    "FEATURES",
    "INCIDENT_KINDS",
    "MONTHLY_PRICE_CENTS",
    "Incident",
    "SimulationConfig",
    "SimulationSummary",
    "mrr_cents",
    "simulate",
]

SECOND_US = 1_000_000
DAY_US = 86_400 * SECOND_US
TRIAL_DAYS = 14

INCIDENT_KINDS = ("outage", "signup_spike")

CHANNELS = ("organic", "paid_search", "referral", "social", "partner", "campaign")
CHANNEL_WEIGHTS = np.array([0.38, 0.22, 0.15, 0.15, 0.10])
CHANNEL_ENGAGEMENT = np.array([1.0, 0.9, 1.2, 0.85, 1.1, 0.8])
CHANNEL_TRIAL = np.array([0.45, 0.50, 0.40, 0.35, 0.55, 0.30])

# (country, locale, Faker locale, weight, UTC offsets in minutes; fixed summer offsets)
COUNTRIES: tuple[tuple[str, str, str, float, tuple[int, ...]], ...] = (
    ("US", "en-US", "en_US", 0.38, (-240, -300, -360, -420)),
    ("GB", "en-GB", "en_GB", 0.10, (60,)),
    ("DE", "de-DE", "de_DE", 0.09, (120,)),
    ("FR", "fr-FR", "fr_FR", 0.07, (120,)),
    ("CA", "en-CA", "en_CA", 0.05, (-240, -420)),
    ("BR", "pt-BR", "pt_BR", 0.05, (-180,)),
    ("IN", "en-IN", "en_IN", 0.06, (330,)),
    ("JP", "ja-JP", "ja_JP", 0.04, (540,)),
    ("AU", "en-AU", "en_AU", 0.05, (600,)),
    ("ES", "es-ES", "es_ES", 0.04, (120,)),
    ("NL", "nl-NL", "nl_NL", 0.04, (120,)),
)
LOCAL_TIMESTAMP_SHARE = 0.10  # users whose client stamps events with their local offset

PLATFORMS = ("web", "ios", "android")
PLATFORM_WEIGHTS = np.array([0.68, 0.20, 0.12])
PLATFORM_UNIT = (1, 2, 1)  # timestamp precision per platform: index into TIME_UNITS
TIME_UNITS = ("s", "ms", "us")
SERVER_UNIT = 0  # signups, identifies and billing events carry whole seconds

PLANS = ("starter", "pro", "business")
MONTHLY_PRICE_CENTS = {"starter": 2900, "pro": 7900, "business": 19900}
TIERS = ("free", "trial", "starter", "pro", "business")
CANCEL_REASONS = ("too_expensive", "missing_features", "switched_tool", "no_longer_needed", "other")

FEATURES = (
    "editor",
    "comments",
    "templates",
    "export_pdf",
    "version_history",
    "integrations",
    "api",
    "sso",
    "analytics_dashboard",
    "automations",
)
FEATURE_POPULARITY = np.array([1.0, 0.55, 0.35, 0.3, 0.2, 0.3, 0.25, 0.1, 0.3, 0.25])
FEATURE_ADOPTION_DAYS = np.array([0.0, 6, 10, 14, 22, 18, 40, 60, 22, 30])
# share of a feature's use that a tier gets (rows: TIERS); advanced features mostly on paid plans
FEATURE_ACCESS = np.array(
    [
        [1, 1, 1, 1, 0.3, 0.04, 0.02, 0.0, 0.04, 0.02],
        [1, 1, 1, 1, 1.0, 1.00, 0.60, 0.3, 1.00, 0.80],
        [1, 1, 1, 1, 1.0, 1.00, 0.20, 0.0, 0.50, 0.30],
        [1, 1, 1, 1, 1.0, 1.00, 1.00, 0.1, 1.00, 1.00],
        [1, 1, 1, 1, 1.0, 1.00, 1.00, 1.0, 1.00, 1.00],
    ]
)

PAGES = ("/home", "/documents", "/documents/recent", "/templates", "/search", "/settings", "/team",
         "/billing", "/integrations", "/help")
PAGE_WEIGHTS = np.array([0.22, 0.25, 0.12, 0.08, 0.09, 0.05, 0.05, 0.04, 0.04, 0.06])
INVITE_ROLES = ("editor", "viewer")

# local hour-of-day activity profile (office hours, some evenings)
HOUR_WEIGHTS = np.array([0.2, 0.1, 0.08, 0.06, 0.06, 0.1, 0.3, 0.7, 1.3, 1.9, 2.1, 2.0,
                         1.6, 1.8, 2.0, 1.9, 1.6, 1.2, 0.9, 0.8, 0.8, 0.7, 0.5, 0.3])
SIGNUP_WEEKDAY = np.array([1.10, 1.15, 1.15, 1.10, 1.00, 0.55, 0.50])  # Monday first
ACTIVITY_WEEKDAY = np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.45, 0.40])
LATE_DAY_WEIGHTS = np.array([0.45, 0.25, 0.15, 0.10, 0.05])  # late by 1..5 days

# engagement event kinds, then server-side ones; the index is the event code
ENGAGEMENT_EVENTS = ("session_started", "page_viewed", "feature_used", "document_created",
                     "document_edited", "document_shared", "invited_teammate")
SERVER_EVENTS = ("signed_up", "subscription_started", "subscription_changed", "subscription_cancelled",
                 "payment_succeeded", "payment_failed", "identify", "group", "alias", "anonymous_page")
EVENT_NAMES = ENGAGEMENT_EVENTS + SERVER_EVENTS
IDENTIFY = EVENT_NAMES.index("identify")
GROUP, ALIAS, ANONYMOUS_PAGE = (EVENT_NAMES.index(k) for k in ("group", "alias", "anonymous_page"))
FORMATS = ("segment", "snake")

# billing: a charge per paid period; a failed charge is retried (dunning), and after the last failed
# retry the subscription is cancelled with reason payment_failed (involuntary churn)
PAYMENT_FAILURE_RATE = 0.08
RETRY_DAYS = (3.0, 7.0)
RETRY_SUCCESS = 0.4
# identity (segment format): anonymous visits before signup, stitched at signup or by a later identify
PRE_SIGNUP_VISIT_SHARE = 0.4
LATE_STITCH_SHARE = 0.25
ALIAS_SHARE = 0.03
ANONYMOUS_VISITORS_PER_USER = 0.3
PAGE_NAMES = {"/home": "Home", "/documents": "Documents", "/documents/recent": "Recent documents",
              "/templates": "Templates", "/search": "Search", "/settings": "Settings", "/team": "Team",
              "/billing": "Billing", "/integrations": "Integrations", "/help": "Help", "/pricing": "Pricing",
              "/": "Landing", "/blog": "Blog", "/signup": "Sign up"}
MARKETING_PAGES = ("/", "/pricing", "/blog", "/signup")
(SESSION, PAGE, FEATURE, DOC_CREATED, DOC_EDITED, DOC_SHARED, INVITED) = range(len(ENGAGEMENT_EVENTS))

MALFORMED_KINDS = ("truncated", "invalid_json", "array", "string", "no_message_id", "no_user_id",
                   "no_timestamp", "bad_timestamp", "unknown_type", "track_without_event")
BAD_TIMESTAMPS = ("yesterday", "2026-13-45T00:00:00Z", "2026-02-30T10:00:00Z", "31/06/2026 25:61", "soon")
UNKNOWN_TYPES = ("pageview", "Track", "event", "screen_view")


@dataclass(frozen=True)
class Incident:
    """A planted anomaly: `outage` (most users inactive, few signups) or `signup_spike` (campaign)."""

    kind: str
    day: date


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate; the same config (seed included) always gives the same bytes."""

    start: date = date(2026, 6, 1)
    days: int = 90
    users: int = 3000
    seed: int = 42
    malformed_rate: float = 0.002
    duplicate_rate: float = 0.01
    late_rate: float = 0.02
    incidents: tuple[Incident, ...] = ()
    # "segment": camelCase Segment calls (page/screen/identify/group/alias, anonymous ids) in Hive folders
    # date=YYYY-MM-DD/events.jsonl.gz; "snake": the original snake_case track/identify stream, flat daily files
    fmt: str = "segment"


@dataclass(frozen=True)
class SimulationSummary:
    """What `simulate()` wrote: files, line counts by kind, signups and the planted incidents."""

    files: list[Path]
    events: int
    lines: int
    malformed: int
    duplicates: int
    late: int
    users: int
    incidents: tuple[Incident, ...]


def mrr_cents(plan: str, billing_period: str) -> int:
    """Monthly recurring revenue in cents of a plan; annual = 10 × monthly price, spread over 12."""
    monthly = MONTHLY_PRICE_CENTS[plan]
    return monthly if billing_period == "monthly" else (10 * monthly) // 12


# ---------------------------------------------------------------------------------------------
# users


@dataclass
class _Users:
    """Per-user attributes as parallel arrays, ordered by signup time (index i ↔ user u_{i+1})."""

    signup_us: np.ndarray
    signup_day: np.ndarray
    channel: np.ndarray
    country: np.ndarray
    offset_min: np.ndarray
    local_ts: np.ndarray
    platform: np.ndarray
    version_lag: np.ndarray
    engagement: np.ndarray
    team: np.ndarray
    trial: np.ndarray
    adoption: np.ndarray

    @property
    def count(self) -> int:
        """Number of users."""
        return len(self.signup_us)


@dataclass
class _UserPlan:
    """One user's lifecycle: when they stop, their billing events, plan changes and lulls."""

    stop: float
    billing: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    plans: list[tuple[float, str]] = field(default_factory=list)
    lulls: list[tuple[float, float]] = field(default_factory=list)


def _validate(config: SimulationConfig) -> None:
    """Reject configs that cannot be simulated, with a one-line reason."""
    if config.days < 1:
        raise ValueError("days must be at least 1")
    if config.users < 0:
        raise ValueError("users must not be negative")
    if config.fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {config.fmt!r}")
    for name in ("malformed_rate", "duplicate_rate", "late_rate"):
        if not 0.0 <= getattr(config, name) < 1.0:
            raise ValueError(f"{name} must be in [0, 1)")
    end = config.start + timedelta(days=config.days)
    for incident in config.incidents:
        if incident.kind not in INCIDENT_KINDS:
            raise ValueError(f"unknown incident kind {incident.kind!r}; expected one of {INCIDENT_KINDS}")
        if not config.start <= incident.day < end:
            raise ValueError(f"incident day {incident.day} is outside {config.start}..{end - timedelta(1)}")


def _day_index(config: SimulationConfig, day: date) -> int:
    """Days since the simulation start."""
    return (day - config.start).days


def _weekdays(config: SimulationConfig) -> np.ndarray:
    """Weekday (Monday = 0) of every simulated day."""
    return (config.start.weekday() + np.arange(config.days)) % 7


def _signup_counts(config: SimulationConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Regular and campaign signups per day: growth, weekly seasonality and incidents."""
    d = np.arange(config.days)
    shape = np.exp(np.log(2.2) * d / max(config.days - 1, 1)) * SIGNUP_WEEKDAY[_weekdays(config)]
    expected = config.users * shape / shape.sum()
    campaign = np.zeros(config.days)
    for incident in config.incidents:
        i = _day_index(config, incident.day)
        if incident.kind == "outage":
            expected[i] *= rng.uniform(0.15, 0.30)
        else:
            campaign[i] += expected[i] * (rng.uniform(3.0, 5.0) - 1.0)
    return rng.poisson(expected), rng.poisson(campaign)


def _local_time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Local time of day in microseconds, following the office-hours profile."""
    hours = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    return ((hours + rng.random(n)) * 3600 * SECOND_US).astype(np.int64)


def _draw_users(config: SimulationConfig, rng: np.random.Generator) -> _Users:
    """Draw every user's signup instant, channel, geography, devices, engagement and feature uptake."""
    regular, campaign = _signup_counts(config, rng)
    day = np.concatenate([np.repeat(np.arange(config.days), regular),
                          np.repeat(np.arange(config.days), campaign)]).astype(np.int64)
    n = len(day)
    channel = np.concatenate([rng.choice(5, size=int(regular.sum()), p=CHANNEL_WEIGHTS),
                              np.full(int(campaign.sum()), 5)]).astype(np.int64)
    weights = np.array([c[3] for c in COUNTRIES])
    country = rng.choice(len(COUNTRIES), size=n, p=weights / weights.sum())
    offset_min = np.array([COUNTRIES[c][4][k % len(COUNTRIES[c][4])]
                           for c, k in zip(country.tolist(), rng.integers(0, 12, n).tolist(), strict=True)],
                          dtype=np.int64)
    # signups follow the local office-hours profile, kept before 23:50 UTC so the first session fits
    tod = (_local_time_of_day(rng, n) - offset_min * 60 * SECOND_US) % DAY_US
    tod = (tod * ((DAY_US - 600 * SECOND_US) / DAY_US)).astype(np.int64)
    order = np.lexsort((tod, day))
    day, channel, country, offset_min, tod = (a[order] for a in (day, channel, country, offset_min, tod))
    engagement = np.clip(rng.beta(2.2, 2.8, n) * CHANNEL_ENGAGEMENT[channel], 0.03, 0.98)
    platform = rng.choice(3, size=n, p=PLATFORM_WEIGHTS)
    adoption = rng.exponential(1.0, (n, len(FEATURES))) * FEATURE_ADOPTION_DAYS / (0.3 + engagement[:, None])
    return _Users(
        signup_us=day * DAY_US + tod,
        signup_day=day,
        channel=channel,
        country=country,
        offset_min=offset_min,
        local_ts=rng.random(n) < LOCAL_TIMESTAMP_SHARE,
        platform=platform,
        version_lag=np.where(platform == 0, 0, rng.exponential(8.0, n)).astype(np.int64),
        engagement=engagement,
        team=rng.random(n) < 0.15 + 0.35 * engagement,
        trial=rng.random(n) < CHANNEL_TRIAL[channel],
        adoption=adoption,
    )


def _ascii_slug(text: str) -> str:
    """Lower-case ASCII letters of a name ("Müller" → "muller"); empty for non-Latin scripts."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _identities(users: _Users, seed: int, rng: np.random.Generator) -> list[dict[str, str]]:
    """Name, email, company and country per user from a seeded Faker per locale; colleagues share companies.

    Each locale's Faker is seeded from the run's seed and the locale name (a str seed is hashed by
    `random.seed` deterministically, independent of PYTHONHASHSEED).
    """
    fakers: dict[str, Faker] = {}
    companies: dict[int, list[tuple[str, str]]] = {}
    counts = np.bincount(users.country, minlength=len(COUNTRIES))
    for c, (_, _, faker_locale, _, _) in enumerate(COUNTRIES):
        if counts[c] == 0:
            continue
        fake = Faker(faker_locale)
        fake.seed_instance(f"{seed}:{faker_locale}")  # the seed, told apart per locale (en_US ≠ en_CA names)
        fakers[faker_locale] = fake
        pool = []
        for _ in range(max(1, int(counts[c]) // 3)):
            company = fake.company()
            slug = _ascii_slug(company)
            pool.append((company, f"{slug[:20]}.com" if len(slug) >= 3 else ""))
        companies[c] = pool
    picks = rng.random(users.count)
    work_email = rng.random(users.count) < 0.7
    seen: set[str] = set()
    out = []
    for i, c in enumerate(users.country.tolist()):
        code, _, faker_locale, _, _ = COUNTRIES[c]
        fake = fakers[faker_locale]
        first, last = fake.first_name(), fake.last_name()
        company, domain = companies[c][int(picks[i] * len(companies[c]))]
        if not (work_email[i] and domain):
            domain = fake.free_email_domain()
        local = ".".join(p for p in (_ascii_slug(first), _ascii_slug(last)) if p) or f"user{i + 1}"
        email, k = f"{local}@{domain}", 1
        while email in seen:
            k += 1
            email = f"{local}{k}@{domain}"
        seen.add(email)
        name = f"{last} {first}" if code == "JP" else f"{first} {last}"
        out.append({"email": email, "name": name, "company": company, "country": code})
    return out


# ---------------------------------------------------------------------------------------------
# lifecycle: trials, subscriptions, churn


def _subscription_props(plan: str, period: str, **extra: Any) -> dict[str, Any]:
    """Properties of a subscription_* event, keys in a fixed order; mrr_cents is after the event."""
    return {"plan": plan, "billing_period": period, "mrr_cents": mrr_cents(plan, period), **extra}


def _choose_plan(rng: np.random.Generator, engagement: float) -> str:
    """Pick a paid plan; engaged users pick bigger plans."""
    weights = np.array([0.55 - 0.3 * engagement, 0.33 + 0.15 * engagement, 0.12 + 0.15 * engagement])
    return PLANS[int(rng.choice(3, p=weights / weights.sum()))]


def _plan_change(rng: np.random.Generator, plan: str, period: str) -> tuple[str, str]:
    """An upgrade (more likely), a downgrade, or a switch from monthly to annual billing."""
    rank = PLANS.index(plan)
    if period == "monthly" and rng.random() < 0.12:
        return plan, "annual"
    up = rank == 0 or (rank < 2 and rng.random() < 0.65)
    return (PLANS[min(rank + 1 + int(rank == 0 and rng.random() < 0.2), 2)] if up else PLANS[rank - 1]), period


def _subscribe(rng: np.random.Generator, life: _UserPlan, start: float, horizon: float,
               engagement: float, team: bool) -> None:
    """Simulate a paid subscription from `start`: changes, cancellations (at stop or not) and reactivations."""
    plan = _choose_plan(rng, engagement)
    period = "annual" if rng.random() < 0.18 + 0.12 * team else "monthly"
    t, stop = start, life.stop
    life.billing.append((t, "subscription_started", _subscription_props(plan, period)))
    life.plans.append((t, plan))
    while True:
        change = t + rng.exponential(80.0)
        cancel = t + rng.exponential(220.0 if period == "monthly" else 700.0)
        nxt = min(change, cancel, stop)
        if nxt >= horizon:
            return
        reason = CANCEL_REASONS[int(rng.integers(len(CANCEL_REASONS)))]
        cancelled = _subscription_props(plan, period, mrr_cents=0, previous_mrr_cents=mrr_cents(plan, period),
                                         reason=reason)
        if nxt == stop:  # leaving for good: most monthly plans cancel, annual ones often just lapse later
            if rng.random() < (0.9 if period == "monthly" else 0.4):
                life.billing.append((stop, "subscription_cancelled", cancelled))
                life.plans.append((stop, "free"))
            return
        if nxt == change:
            new_plan, new_period = _plan_change(rng, plan, period)
            props = _subscription_props(new_plan, new_period, previous_plan=plan,
                                        previous_mrr_cents=mrr_cents(plan, period))
            life.billing.append((change, "subscription_changed", props))
            life.plans.append((change, new_plan))
            plan, period, t = new_plan, new_period, change
            continue
        life.billing.append((cancel, "subscription_cancelled", cancelled))
        life.plans.append((cancel, "free"))
        resume = cancel + rng.exponential(30.0) if rng.random() < 0.35 else math.inf
        life.lulls.append((cancel, resume))
        if resume >= min(stop, horizon):
            return
        plan = plan if rng.random() < 0.7 else "starter"
        period = "monthly"
        life.billing.append((resume, "subscription_started", _subscription_props(plan, period)))
        life.plans.append((resume, plan))
        t = resume


def _plan_user(rng: np.random.Generator, users: _Users, i: int, horizon: float) -> _UserPlan:
    """One user's lifecycle: trial outcome, free upgrade, lifetime and subscription history (in days)."""
    t0 = users.signup_us[i] / DAY_US
    e, team, trial = float(users.engagement[i]), bool(users.team[i]), bool(users.trial[i])
    breadth = int((users.adoption[i] <= TRIAL_DAYS).sum())
    paid_at: float | None = None
    plans = [(t0, "trial" if trial else "free")]
    if trial:
        if rng.random() < min(0.85, 0.06 + 0.45 * e + 0.03 * breadth + 0.08 * team):
            paid_at = t0 + TRIAL_DAYS
        else:
            plans.append((t0 + TRIAL_DAYS, "free"))
    else:
        paid_at = t0 + rng.exponential(300.0 / (0.2 + e))
    lifetime = (15.0 + 160.0 * e**1.3) * (0.7 + 0.08 * breadth) * (1.35 if team else 1.0)
    stop = t0 + rng.exponential(lifetime)
    if paid_at is not None:
        if stop > paid_at:
            stop = paid_at + (stop - paid_at) * 1.7
        elif trial:
            stop = paid_at + rng.exponential(lifetime * 1.7)
        else:
            paid_at = None
    life = _UserPlan(stop=stop, plans=plans)
    if paid_at is not None and paid_at < horizon:
        _subscribe(rng, life, paid_at, horizon, e, team)
        _charge(rng, life, horizon)
    return life


def _paid_spans(billing: list[tuple[float, str, dict[str, Any]]], horizon: float
                ) -> list[tuple[float, float, dict[str, Any]]]:
    """(start, end, subscription properties) of each stretch with one paid plan, from the billing history."""
    spans = []
    for k, (t, name, props) in enumerate(billing):
        if name in ("subscription_started", "subscription_changed"):
            end = billing[k + 1][0] if k + 1 < len(billing) else horizon
            spans.append((t, min(end, horizon), props))
    return spans


def _charge(rng: np.random.Generator, life: _UserPlan, horizon: float) -> None:
    """Add a payment per billing period; a charge failing every retry cancels the plan (reason payment_failed)."""
    payments: list[tuple[float, str, dict[str, Any]]] = []
    for start, end, props in _paid_spans(life.billing, horizon):
        period = 30.0 if props["billing_period"] == "monthly" else 365.0
        monthly = MONTHLY_PRICE_CENTS[props["plan"]]
        amount = monthly if props["billing_period"] == "monthly" else 10 * monthly
        charge = {"plan": props["plan"], "billing_period": props["billing_period"], "amount_cents": amount}
        due = start + 60 / 86_400
        while due < end:
            if rng.random() >= PAYMENT_FAILURE_RATE:
                payments.append((due, "payment_succeeded", {**charge, "attempt": 1}))
                due += period
                continue
            payments.append((due, "payment_failed", {**charge, "attempt": 1}))
            recovered = False
            for attempt, delay in enumerate(RETRY_DAYS, start=2):
                if due + delay >= end:
                    break
                ok = rng.random() < RETRY_SUCCESS
                payments.append((due + delay, "payment_succeeded" if ok else "payment_failed",
                                 {**charge, "attempt": attempt}))
                if ok:
                    recovered = True
                    break
            churn = due + RETRY_DAYS[-1] + 1.0
            if not recovered and churn < end:
                # dunning exhausted: involuntary churn; the rest of the history never happens
                life.billing = [b for b in life.billing if b[0] < churn]
                life.plans = [p for p in life.plans if p[0] < churn] + [(churn, "free")]
                life.billing.append((churn, "subscription_cancelled", _subscription_props(
                    props["plan"], props["billing_period"], mrr_cents=0,
                    previous_mrr_cents=props["mrr_cents"], reason="payment_failed")))
                life.stop = min(life.stop, churn + rng.exponential(20.0))
                life.billing += [p for p in payments if p[0] < churn]
                life.billing.sort(key=lambda b: b[0])
                return
            due += period
    life.billing += payments
    life.billing.sort(key=lambda b: b[0])


def _activity_multiplier(users: _Users, plans: Sequence[_UserPlan], days: int,
                         rng: np.random.Generator) -> np.ndarray:
    """Users × days factor: fades to 10 % over 2-4 weeks before a stop (0 after), dips around cancels."""
    n = users.count
    stop = np.array([p.stop for p in plans], dtype=float).reshape(n)
    ramp = rng.uniform(14.0, 28.0, n)
    day = np.arange(days)[None, :]
    remaining = stop[:, None] - (day + 0.5)
    mult = np.clip(0.1 + 0.9 * remaining / ramp[:, None], 0.1, 1.0)
    mult[day >= np.floor(stop)[:, None]] = 0.0
    centre = np.arange(days) + 0.5
    for i, p in enumerate(plans):
        for cancel, resume in p.lulls:
            width = rng.uniform(10.0, 21.0)
            before = (centre >= cancel - width) & (centre < cancel)
            mult[i, before] *= 0.35 + 0.65 * (cancel - centre[before]) / width
            mult[i, (centre >= cancel) & (centre < resume)] *= 0.5
    return mult


def _tier_matrix(users: _Users, plans: Sequence[_UserPlan], days: int) -> np.ndarray:
    """Users × days plan tier (index into TIERS) in force on each day."""
    tier = np.zeros((users.count, days), dtype=np.int64)
    for i, p in enumerate(plans):
        for t, plan in p.plans:
            d = int(math.floor(t))
            if d < days:
                tier[i, max(d, 0):] = TIERS.index(plan)
    return tier


# ---------------------------------------------------------------------------------------------
# engagement


@dataclass
class _Columns:
    """Events as parallel arrays; `a`/`b` carry kind-specific payload codes."""

    user: np.ndarray
    ts: np.ndarray
    recv: np.ndarray
    kind: np.ndarray
    platform: np.ndarray
    a: np.ndarray
    b: np.ndarray


def _active_days(users: _Users, mult: np.ndarray, tier: np.ndarray, config: SimulationConfig,
                 rng: np.random.Generator) -> np.ndarray:
    """Users × days booleans: active with a probability from engagement, tenure, weekday, fade and plan."""
    day = np.arange(config.days)[None, :]
    tenure = day - users.signup_day[:, None]
    base = 0.1 + 0.8 * users.engagement[:, None]
    decay = 0.5 + 0.5 * np.exp(-np.maximum(tenure, 0) / 30.0)
    prob = base * decay * ACTIVITY_WEEKDAY[_weekdays(config)][None, :] * mult
    prob *= np.where(tier >= TIERS.index("starter"), 1.15, 1.0)
    prob = np.where(tenure >= 0, np.minimum(prob, 0.95), 0.0)
    active = rng.random(prob.shape) < prob
    active[np.arange(users.count), users.signup_day] = True
    for incident in config.incidents:
        if incident.kind == "outage":
            d = _day_index(config, incident.day)
            down = rng.random(users.count) > rng.uniform(0.15, 0.30)
            active[down & (users.signup_day != d), d] = False
    return active


def _weighted_pick(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One column index per row, drawn with probability proportional to that row's weights."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((cum <= u[:, None]).sum(axis=1), weights.shape[1] - 1)


def _sessions(users: _Users, active: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Sessions of the active user-days: start, duration, platform and per-user ordinal, chronological per user."""
    cell_u, cell_d = np.nonzero(active)
    n_sess = 1 + np.minimum(rng.poisson(0.2 + 0.9 * users.engagement[cell_u]), 4)
    cell = np.repeat(np.arange(len(cell_u)), n_sess)
    u, d = cell_u[cell], cell_d[cell]
    n = len(cell)
    first = np.zeros(n, dtype=bool)
    first[np.cumsum(n_sess) - n_sess] = True
    day_start = d * DAY_US
    day_end = day_start + DAY_US - 1000
    dur = np.clip(rng.lognormal(np.log(600 * SECOND_US), 0.8, n), 30 * SECOND_US, 7200 * SECOND_US)
    dur = dur.astype(np.int64)
    start = day_start + (_local_time_of_day(rng, n) - users.offset_min[u] * 60 * SECOND_US) % DAY_US
    start = np.minimum(start, day_end - dur)
    t0 = users.signup_us[u]
    signup_day = d == users.signup_day[u]
    later = t0 + (rng.random(n) * (day_end - t0 - 60 * SECOND_US)).astype(np.int64)
    start = np.where(signup_day, np.where(first, t0 + SECOND_US, later), start)
    dur = np.where(signup_day, np.minimum(dur, day_end - start), dur)
    order = np.lexsort((start, cell))
    u, d, start, dur, cell = u[order], d[order], start[order], dur[order], cell[order]
    # a session ends before the user's next one starts, so documents exist before they are edited
    gap = np.diff(start, append=start[-1:]) if n else start
    followed = np.append(cell[1:] == cell[:-1], False) if n else np.zeros(0, dtype=bool)
    dur = np.where(followed, np.minimum(dur, np.maximum(gap * 9 // 10, 1)), dur)
    primary = users.platform[u]
    platform = np.where(rng.random(n) < 0.85, primary, rng.choice(3, size=n, p=[0.6, 0.25, 0.15]))
    ordinal = np.arange(n) - np.searchsorted(u, u) + 1
    return {"user": u, "day": d, "start": start, "dur": dur, "platform": platform, "ordinal": ordinal}


def _engagement_events(users: _Users, sess: dict[str, np.ndarray], tier: np.ndarray,
                       rng: np.random.Generator) -> tuple[_Columns, np.ndarray]:
    """Expand sessions into track events; returns the events and each event's session index."""
    u, d = sess["user"], sess["day"]
    n = len(u)
    e = users.engagement[u]
    tenure = d - users.signup_day[u]
    access = FEATURE_ACCESS[tier[u, d]] * (users.adoption[u] <= tenure[:, None])
    breadth = (access >= 0.5).sum(axis=1)
    n_created = rng.poisson(0.1 + 0.3 * e)
    created_before = np.cumsum(n_created) - n_created
    docs_before = created_before - created_before[np.searchsorted(u, u)]
    has_docs = docs_before > 0
    counts = {
        SESSION: np.ones(n, dtype=np.int64),
        PAGE: 1 + rng.poisson(1.2 + 2.5 * e),
        FEATURE: rng.poisson((0.2 + 1.6 * e) * (0.6 + 0.12 * breadth)),
        DOC_CREATED: n_created,
        DOC_EDITED: np.where(has_docs, rng.poisson(0.3 + 1.5 * e), 0),
        DOC_SHARED: np.where(has_docs, rng.poisson((0.04 + 0.15 * e) * (1 + users.team[u])), 0),
        INVITED: (rng.random(n) < (0.01 + 0.07 * users.team[u]) * np.exp(-tenure / 25.0)).astype(np.int64),
    }
    parts_s, parts_k, parts_b = [], [], []
    for kind, c in counts.items():
        s = np.repeat(np.arange(n), c)
        if kind == PAGE:
            b = rng.choice(len(PAGES), size=len(s), p=PAGE_WEIGHTS / PAGE_WEIGHTS.sum())
        elif kind == FEATURE:
            b = _weighted_pick(rng, access[s] * FEATURE_POPULARITY)
        elif kind == DOC_CREATED:
            b = docs_before[s] + np.arange(len(s)) - np.repeat(np.cumsum(c) - c, c) + 1
        elif kind in (DOC_EDITED, DOC_SHARED):
            b = 1 + np.floor(docs_before[s] * np.sqrt(rng.random(len(s)))).astype(np.int64)
        elif kind == INVITED:
            b = (rng.random(len(s)) < 0.3).astype(np.int64)
        else:
            b = np.zeros(len(s), dtype=np.int64)
        parts_s.append(s)
        parts_k.append(np.full(len(s), kind))
        parts_b.append(b)
    s = np.concatenate(parts_s)
    kind = np.concatenate(parts_k)
    offset = np.where(kind == SESSION, 0, (0.02 + 0.98 * rng.random(len(s))) * sess["dur"][s]).astype(np.int64)
    cols = _Columns(user=u[s], ts=sess["start"][s] + offset, recv=np.zeros(len(s), dtype=np.int64),
                    kind=kind, platform=sess["platform"][s], a=sess["ordinal"][s],
                    b=np.concatenate(parts_b).astype(np.int64))
    return cols, s


def _server_events(users: _Users, plans: Sequence[_UserPlan], traits: list[dict[str, str]],
                   horizon_us: int, origin_us: int) -> tuple[_Columns, list[dict[str, Any]]]:
    """Signups, identifies and billing events inside the window; `b` indexes the returned payloads."""
    rows: list[tuple[int, int, int, int]] = []
    payloads: list[dict[str, Any]] = []

    def add(i: int, ts: int, kind: int, platform: int, payload: dict[str, Any]) -> None:
        """Append one event if it happens inside the window."""
        if ts < horizon_us:
            rows.append((i, ts, kind, platform))
            payloads.append(payload)

    n_users = users.count
    created = _format_instants(users.signup_us, np.full(n_users, 1), np.zeros(n_users, np.int64), origin_us)
    for i, p in enumerate(plans):
        t0 = int(users.signup_us[i])
        base = {**traits[i], "created_at": created[i]}
        first_plan = p.plans[0][1]
        platform = int(users.platform[i])
        channel = CHANNELS[int(users.channel[i])]
        add(i, t0, EVENT_NAMES.index("signed_up"), platform, {"channel": channel, "plan": first_plan})
        add(i, t0 + 300_000, IDENTIFY, platform, _traits(base, first_plan))
        for t, name, props in p.billing:
            add(i, int(round(t * DAY_US)), EVENT_NAMES.index(name), 0, props)
        for t, plan in p.plans[1:]:
            add(i, int(round(t * DAY_US)) + 400_000, IDENTIFY, 0, _traits(base, plan))
    arr = np.array(rows, dtype=np.int64).reshape(-1, 4)
    n = len(arr)
    cols = _Columns(user=arr[:, 0], ts=arr[:, 1], recv=np.zeros(n, dtype=np.int64), kind=arr[:, 2],
                    platform=arr[:, 3], a=np.zeros(n, dtype=np.int64), b=np.arange(n, dtype=np.int64))
    return cols, payloads


@dataclass
class _Identity:
    """Segment-format identity data: device ids, pre-signup visitor ids, aliased users and account ids."""

    device: list[str]  # per user: the anonymousId their app and browser send on every client event
    alias_from: dict[int, str] = field(default_factory=dict)  # user → the id they used before their alias call
    alias_at: dict[int, int] = field(default_factory=dict)  # user → alias call instant (µs since start)
    stitch: dict[int, str] = field(default_factory=dict)  # identify payload index → anonymousId it stitches


def _identity_events(users: _Users, traits: list[dict[str, str]], rng: np.random.Generator, horizon_us: int,
                     first_payload: int) -> tuple[_Columns, list[dict[str, Any]], _Identity]:
    """Anonymous visits (before signup, and of visitors who never sign up), stitching identifies, groups, aliases."""
    n = users.count
    identity = _Identity(device=_message_ids(rng, n))
    rows: list[tuple[int, int, int, int]] = []
    payloads: list[dict[str, Any]] = []

    def add(i: int, ts: int, kind: int, payload: dict[str, Any]) -> int:
        """Append one event inside the window; its payload index (or -1)."""
        if not 0 <= ts < horizon_us:
            return -1
        rows.append((i, ts, kind, 0 if kind == ANONYMOUS_PAGE else int(users.platform[i])))
        payloads.append(payload)
        return first_payload + len(payloads) - 1

    visitors = _message_ids(rng, n)
    accounts: dict[str, str] = {}
    for i in range(n):
        t0 = int(users.signup_us[i])
        if rng.random() < PRE_SIGNUP_VISIT_SHARE:
            for _ in range(1 + int(rng.integers(0, 4))):
                before = int(rng.random() * 3 * DAY_US) + SECOND_US
                path = MARKETING_PAGES[int(rng.integers(len(MARKETING_PAGES)))]
                add(i, t0 - before, ANONYMOUS_PAGE, {"anonymousId": visitors[i], "path": path})
            late = rng.random() < LATE_STITCH_SHARE
            at = t0 + (int((2 + 4 * rng.random()) * DAY_US) if late else 400_000)
            k = add(i, at, IDENTIFY, {key: traits[i][key] for key in ("email", "name", "company", "country")})
            if k >= 0:
                identity.stitch[k] = visitors[i]
        company = traits[i]["company"]
        account = accounts.setdefault(company, f"acct_{len(accounts) + 1:05d}")
        add(i, t0 + 2 * SECOND_US, GROUP, {"groupId": account, "traits": {"name": company}})
        if rng.random() < ALIAS_SHARE:
            at = t0 + DAY_US + int(rng.random() * 6 * 3600 * SECOND_US)
            identity.alias_from[i] = f"tmp_{i + 1:06d}"
            identity.alias_at[i] = at
            add(i, at, ALIAS, {"previousId": identity.alias_from[i]})
    for _ in range(int(n * ANONYMOUS_VISITORS_PER_USER)):
        visitor = _message_ids(rng, 1)[0]
        i = int(rng.integers(n))
        ts = int(rng.random() * horizon_us)
        for _ in range(1 + int(rng.integers(0, 3))):
            path = MARKETING_PAGES[int(rng.integers(len(MARKETING_PAGES)))]
            add(i, ts, ANONYMOUS_PAGE, {"anonymousId": visitor, "path": path})
            ts += int(rng.random() * 600 * SECOND_US)
    arr = np.array(rows, dtype=np.int64).reshape(-1, 4)
    m = len(arr)
    cols = _Columns(user=arr[:, 0], ts=arr[:, 1], recv=np.zeros(m, dtype=np.int64), kind=arr[:, 2],
                    platform=arr[:, 3], a=np.zeros(m, dtype=np.int64),
                    b=np.arange(first_payload, first_payload + m, dtype=np.int64))
    return cols, payloads, identity


def _traits(base: dict[str, str], plan: str) -> dict[str, str]:
    """Identify traits in a fixed key order."""
    return {"email": base["email"], "name": base["name"], "company": base["company"],
            "country": base["country"], "plan": plan, "created_at": base["created_at"]}


def _receive(eng: _Columns, session: np.ndarray, sess: dict[str, np.ndarray], server: _Columns,
             late_rate: float, rng: np.random.Generator) -> None:
    """Set received_at: seconds after the event, or 1-5 days later for whole offline (mostly mobile) sessions."""
    eng.recv = eng.ts + np.minimum(rng.lognormal(np.log(0.8 * SECOND_US), 1.2, len(eng.ts)),
                                   1800 * SECOND_US).astype(np.int64)
    server.recv = server.ts + rng.lognormal(np.log(0.2 * SECOND_US), 0.5, len(server.ts)).astype(np.int64)
    n_sess = len(sess["start"])
    if n_sess == 0 or late_rate <= 0:
        return
    per_session = np.bincount(session, minlength=n_sess)
    weight = np.where(sess["platform"] == 0, 1.0, 3.0)
    scale = late_rate * (len(eng.ts) + len(server.ts)) / max(float((weight * per_session).sum()), 1.0)
    late = rng.random(n_sess) < np.minimum(1.0, scale * weight)
    delay = 1 + rng.choice(5, size=n_sess, p=LATE_DAY_WEIGHTS)
    sync = (sess["day"] + delay) * DAY_US + (rng.random(n_sess) * (DAY_US - 7200 * SECOND_US)).astype(np.int64)
    is_late = late[session]
    eng.recv = np.where(is_late, sync[session] + (eng.ts - sess["start"][session]) // 50
                        + (eng.recv - eng.ts), eng.recv)


# ---------------------------------------------------------------------------------------------
# rendering


def _origin_us(start: date) -> int:
    """Microseconds from the Unix epoch to midnight UTC of `start`; event times count from there."""
    return (start - date(1970, 1, 1)).days * DAY_US


def _format_instants(us: np.ndarray, unit: np.ndarray, offset_min: np.ndarray, origin_us: int) -> list[str]:
    """Many instants as ISO-8601 text: local wall time at the given precision plus `Z` or `±HH:MM`."""
    local = (us + offset_min * 60 * SECOND_US + origin_us).astype("datetime64[us]")
    out = np.empty(len(us), dtype=object)
    for code, name in enumerate(TIME_UNITS):
        mask = unit == code
        if mask.any():
            out[mask] = np.datetime_as_string(local[mask], unit=name).astype(object)
    suffixes = {m: _offset_suffix(m) for m in np.unique(offset_min).tolist()}
    return [f"{text}{suffixes[m]}" for text, m in zip(out.tolist(), offset_min.tolist(), strict=True)]


def _offset_suffix(minutes: int) -> str:
    """`Z` for UTC, else `±HH:MM`."""
    if minutes == 0:
        return "Z"
    sign = "+" if minutes > 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _message_ids(rng: np.random.Generator, n: int) -> list[str]:
    """Version-4-shaped UUID strings drawn from the seeded generator."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    h = raw.tobytes().hex()
    return [f"{h[k:k + 8]}-{h[k + 8:k + 12]}-{h[k + 12:k + 16]}-{h[k + 16:k + 20]}-{h[k + 20:k + 32]}"
            for k in range(0, 32 * n, 32)]


def _app_versions(platform: np.ndarray, day: np.ndarray, lag: np.ndarray) -> np.ndarray:
    """Client release code (minor * 10 + patch) per event: a minor release every two weeks, mobile lags."""
    v = np.maximum(day - np.where(platform == 0, 0, lag), 0) + 28
    return (v // 14) * 10 + (v % 14) // 5


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _dumps(obj: Any) -> str:
    """Compact JSON, UTF-8 text kept as is, keys in insertion order."""
    return _ENCODER.encode(obj)


def _contexts(users: _Users, events: _Columns) -> list[str]:
    """The serialized context object of every event (platform, app_version, locale), shared per combination."""
    version = _app_versions(events.platform, events.ts // DAY_US, users.version_lag[events.user])
    combo = (events.platform * 1000 + version) * len(COUNTRIES) + users.country[events.user]
    codes, inverse = np.unique(combo, return_inverse=True)
    texts = []
    for code in codes.tolist():
        rest, country = divmod(code, len(COUNTRIES))
        platform, version_code = divmod(rest, 1000)
        texts.append(_dumps({"platform": PLATFORMS[platform],
                             "app_version": f"5.{version_code // 10}.{version_code % 10}",
                             "locale": COUNTRIES[country][1]}))
    return [texts[k] for k in inverse.reshape(-1).tolist()]


def _rendered_columns(users: _Users, events: _Columns, n_engagement: int,
                      origin_us: int) -> tuple[list[str], list[str], list[str], list[str]]:
    """What both line formats print per event: timestamp, received_at, context, and each user's id."""
    n = len(events.ts)
    offset = np.where(users.local_ts, users.offset_min, 0)[events.user]
    unit = np.where(np.arange(n) < n_engagement, np.array(PLATFORM_UNIT)[events.platform], SERVER_UNIT)
    timestamps = _format_instants(events.ts, unit, offset, origin_us)
    received = _format_instants(events.recv, np.full(n, 1), np.zeros(n, np.int64), origin_us)
    user_ids = [f"u_{i + 1:06d}" for i in range(users.count)]
    return timestamps, received, _contexts(users, events), user_ids


def _engagement_props(kind: int, u: int, a: int, b: int) -> str:
    """The properties of an engagement event (session id, then page path, feature, role or document)."""
    session = f'"session_id":"s_{u + 1:06d}_{a:04d}"'
    if kind == PAGE:
        return f'{{{session},"path":"{PAGES[b]}"}}'
    if kind == FEATURE:
        return f'{{{session},"feature":"{FEATURES[b]}"}}'
    if kind == SESSION:
        return f'{{{session}}}'
    if kind == INVITED:
        return f'{{{session},"role":"{INVITE_ROLES[b]}"}}'
    return f'{{{session},"document_id":"doc_{u + 1:06d}_{b:04d}"}}'


def _render(users: _Users, events: _Columns, payloads: list[dict[str, Any]], n_engagement: int,
            message_ids: list[str], origin_us: int) -> list[str]:
    """Every event as one JSON line in the fixed Contract 1 key order with compact separators.

    Engagement events hold only ASCII identifiers, so they are filled into a template (the same bytes
    `_dumps` gives, checked by the tests); signups, identifies and billing events go through the encoder.
    """
    timestamps, received, contexts, user_ids = _rendered_columns(users, events, n_engagement, origin_us)
    lines = []
    for j, (u, kind, a, b) in enumerate(zip(events.user.tolist(), events.kind.tolist(), events.a.tolist(),
                                            events.b.tolist(), strict=True)):
        head = f'{{"message_id":"{message_ids[j]}","type":'
        tail = f'"timestamp":"{timestamps[j]}","received_at":"{received[j]}",'
        if kind == IDENTIFY:
            lines.append(f'{head}"identify","user_id":"{user_ids[u]}",{tail}"traits":{_dumps(payloads[b])},'
                         f'"context":{contexts[j]}}}')
            continue
        props = _dumps(payloads[b]) if j >= n_engagement else _engagement_props(kind, u, a, b)
        lines.append(f'{head}"track","event":"{EVENT_NAMES[kind]}","user_id":"{user_ids[u]}",{tail}'
                     f'"properties":{props},"context":{contexts[j]}}}')
    return lines


def _render_segment(users: _Users, events: _Columns, payloads: list[dict[str, Any]], n_engagement: int,
                    message_ids: list[str], origin_us: int, identity: _Identity) -> list[str]:
    """Every event as a camelCase Segment call: web pages as `page`, app pages as `screen`, client events with
    the device's anonymousId, identify/group/alias calls; compact JSON in a fixed key order."""
    timestamps, received, contexts, user_ids = _rendered_columns(users, events, n_engagement, origin_us)
    lines = []
    for j, (u, kind, a, b, ts, platform) in enumerate(zip(
            events.user.tolist(), events.kind.tolist(), events.a.tolist(), events.b.tolist(), events.ts.tolist(),
            events.platform.tolist(), strict=True)):
        user = identity.alias_from[u] if u in identity.alias_from and ts < identity.alias_at[u] else user_ids[u]
        head = f'{{"messageId":"{message_ids[j]}","type":'
        when = f'"timestamp":"{timestamps[j]}","receivedAt":"{received[j]}",'
        if j < n_engagement:
            ids = f'"userId":"{user}","anonymousId":"{identity.device[u]}",'
            props = _engagement_props(kind, u, a, b)
            if kind == PAGE:
                call = "page" if platform == 0 else "screen"
                lines.append(f'{head}"{call}",{ids}"name":"{PAGE_NAMES[PAGES[b]]}",{when}'
                             f'"properties":{props},"context":{contexts[j]}}}')
                continue
            lines.append(f'{head}"track","event":"{EVENT_NAMES[kind]}",{ids}{when}"properties":{props},'
                         f'"context":{contexts[j]}}}')
            continue
        payload = payloads[b]
        if kind == IDENTIFY:
            anonymous = f',"anonymousId":"{identity.stitch[b]}"' if b in identity.stitch else ""
            lines.append(f'{head}"identify","userId":"{user}"{anonymous},{when}"traits":{_dumps(payload)},'
                         f'"context":{contexts[j]}}}')
        elif kind == GROUP:
            lines.append(f'{head}"group","userId":"{user}","groupId":"{payload["groupId"]}",{when}'
                         f'"traits":{_dumps(payload["traits"])},"context":{contexts[j]}}}')
        elif kind == ALIAS:
            lines.append(f'{head}"alias","userId":"{user_ids[u]}","previousId":"{payload["previousId"]}",{when}'
                         f'"context":{contexts[j]}}}')
        elif kind == ANONYMOUS_PAGE:
            path = payload["path"]
            lines.append(f'{head}"page","anonymousId":"{payload["anonymousId"]}","name":"{PAGE_NAMES[path]}",'
                         f'{when}"properties":{{"path":"{path}"}},"context":{contexts[j]}}}')
        else:
            lines.append(f'{head}"track","event":"{EVENT_NAMES[kind]}","userId":"{user}",{when}'
                         f'"properties":{_dumps(payload)},"context":{contexts[j]}}}')
    return lines


def _malformed_line(line: str, message_id: str, kind: str, rng: np.random.Generator) -> str:
    """A broken variant of a valid track line (either spelling), under a fresh message id."""
    rec = json.loads(line)
    camel = "messageId" in rec
    rec["messageId" if camel else "message_id"] = message_id
    if kind == "truncated":
        text = _dumps(rec)
        return text[: int(rng.integers(5, len(text) - 1))]
    if kind == "invalid_json":
        return repr(rec) if rng.random() < 0.5 else _dumps(rec)[:-1] + ",}"
    if kind == "array":
        return _dumps([rec])
    if kind == "string":
        return _dumps(_dumps(rec))
    if kind == "bad_timestamp":
        rec["timestamp"] = BAD_TIMESTAMPS[int(rng.integers(len(BAD_TIMESTAMPS)))]
    elif kind == "unknown_type":
        rec["type"] = UNKNOWN_TYPES[int(rng.integers(len(UNKNOWN_TYPES)))]
    else:
        missing = {"no_message_id": ("message_id", "messageId"), "no_user_id": ("user_id", "userId", "anonymousId"),
                   "no_timestamp": ("timestamp",), "track_without_event": ("event",)}[kind]
        for key in missing:
            rec.pop(key, None)
        if kind == "track_without_event" and rec.get("type") != "track":
            rec["type"] = "track"  # a page/screen call has no event anyway: make it a track call without one
    return _dumps(rec)


def _concat(parts: Sequence[_Columns]) -> _Columns:
    """Stack event columns."""
    return _Columns(*(np.concatenate([getattr(p, f) for p in parts]).astype(np.int64)
                      for f in ("user", "ts", "recv", "kind", "platform", "a", "b")))


def _write_gzip(path: Path, lines: Sequence[str]) -> None:
    """Write lines as a deterministic gzip file (no name, mtime 0), atomically via a temporary file."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=3) as gz:
        gz.write(("\n".join(lines) + ("\n" if lines else "")).encode("utf-8"))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)


def simulate(config: SimulationConfig, landing_dir: Path,
             progress: Callable[[str], None] | None = None) -> SimulationSummary:
    """Simulate the product for `config.days` days and write one events file per UTC day into `landing_dir`.

    Segment format: `date=YYYY-MM-DD/events.jsonl.gz` (a Hive layout); snake format: `events_YYYY-MM-DD.jsonl.gz`.
    """
    _validate(config)
    landing_dir = Path(landing_dir)
    landing_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(config.seed)
    users = _draw_users(config, rng)
    traits = _identities(users, config.seed, rng)
    horizon = float(config.days)
    plans = [_plan_user(rng, users, i, horizon) for i in range(users.count)]
    mult = _activity_multiplier(users, plans, config.days, rng)
    tier = _tier_matrix(users, plans, config.days)
    active = _active_days(users, mult, tier, config, rng)
    sess = _sessions(users, active, rng)
    eng, session = _engagement_events(users, sess, tier, rng)
    origin = _origin_us(config.start)
    server, payloads = _server_events(users, plans, traits, config.days * DAY_US, origin)
    identity = None
    if config.fmt == "segment":
        extra, extra_payloads, identity = _identity_events(users, traits, rng, config.days * DAY_US, len(payloads))
        server = _concat([server, extra])
        payloads += extra_payloads
    _receive(eng, session, sess, server, config.late_rate, rng)

    events = _concat([eng, server])
    n_eng = len(eng.ts)
    keep = np.flatnonzero(events.recv < config.days * DAY_US)  # later arrivals have not landed yet
    events = _Columns(*(getattr(events, f)[keep] for f in ("user", "ts", "recv", "kind", "platform", "a", "b")))
    n_eng = int((keep < n_eng).sum())
    n = len(events.ts)
    if identity is None:
        texts = _render(users, events, payloads, n_eng, _message_ids(rng, n), origin)
    else:
        texts = _render_segment(users, events, payloads, n_eng, _message_ids(rng, n), origin, identity)
    file_day = events.recv // DAY_US
    late = int((file_day > events.ts // DAY_US).sum())
    signups = int((events.kind == EVENT_NAMES.index("signed_up")).sum())

    # duplicates: the identical line again, in the same file or one or two days later
    dup = np.flatnonzero(rng.random(n) < config.duplicate_rate)
    shift = np.where(rng.random(len(dup)) < 0.6, 0, rng.integers(1, 3, len(dup)))
    dup_day = np.where(file_day[dup] + shift < config.days, file_day[dup] + shift, file_day[dup])
    # malformed: broken copies of engagement events, with fresh ids, next to their originals
    n_bad = int(rng.binomial(n + len(dup), config.malformed_rate / (1.0 - config.malformed_rate))) if n_eng else 0
    bad = rng.integers(0, max(n_eng, 1), n_bad)
    bad_kind = rng.integers(0, len(MALFORMED_KINDS), n_bad)
    bad_ids = _message_ids(rng, n_bad)
    bad_texts = []
    for j, k, mid in zip(bad.tolist(), bad_kind.tolist(), bad_ids, strict=True):
        bad_texts.append(_malformed_line(texts[j], mid, MALFORMED_KINDS[k], rng))

    all_texts = np.array(texts + [texts[j] for j in dup.tolist()] + bad_texts, dtype=object)
    day_of = np.concatenate([file_day, dup_day, file_day[bad]])
    key = np.concatenate([events.recv, events.recv[dup], events.recv[bad] + 1])
    order = np.lexsort((np.arange(len(all_texts)), key, day_of))
    bounds = np.searchsorted(day_of[order], np.arange(config.days + 1))
    files = []
    for d in range(config.days):
        day = config.start + timedelta(days=d)
        if config.fmt == "segment":
            path = landing_dir / f"date={day.isoformat()}" / "events.jsonl.gz"
            path.parent.mkdir(exist_ok=True)
        else:
            path = landing_dir / f"events_{day.isoformat()}.jsonl.gz"
        lines = all_texts[order[bounds[d]:bounds[d + 1]]].tolist()
        _write_gzip(path, lines)
        files.append(path)
        if progress is not None:
            progress(f"{day.isoformat()}: {len(lines):,} lines")
    return SimulationSummary(files=files, events=n, lines=len(all_texts), malformed=n_bad, duplicates=len(dup),
                             late=late, users=signups, incidents=tuple(config.incidents))
