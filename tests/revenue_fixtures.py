"""A hand-made revenue story (landing files) whose every number is worked out by hand in the tests.

Persons, MRR in cents at each month end (2024-01 … 2024-08):

    ann      annual plan (30,000/year = 2,500/month) from Jan, never changes
    ret      1,000 from Jan, cancels (too_expensive) Apr 3, back Jun 5 at 1,500   → Jun reactivation, not new
    updown   2,000 from Jan; Feb 10 up to 5,000, Feb 20 down to 3,000 (same month) → Feb expansion 1,000;
             Jun 12 down to 2,500                                                    → Jun contraction 500
    tie      two events at the same instant Feb 1 00:00: `z-tie` started 6,000, loaded first, then `a-tie`
             changed 4,000, loaded later → 4,000 (the later loaded wins, not the larger message_id)
    invol    3,000 from Jan 5, cancelled Apr 10 with reason payment_failed           → involuntary churn 3,000
    blip     starts Mar 5 (900) and cancels Mar 25: never a customer; starts Jun 10 at 700 → new, not reactivation
    dunning  1,200 from Feb 15; May 5 cancelled (payment_failed), May 20 started again at 1,200
             → no movement in May (the latest event before the month end is the restart)

plus page views in July and August (the latest month with activity is August) and payment events.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def track(message_id: str, user_id: str, timestamp: str, event: str, **properties: Any) -> dict[str, Any]:
    """A track event line."""
    return {"message_id": message_id, "type": "track", "event": event, "user_id": user_id, "timestamp": timestamp,
            "properties": properties}


def sub(message_id: str, user_id: str, timestamp: str, event: str, mrr_cents: int, plan: str = "pro",
        **extra: Any) -> dict[str, Any]:
    """A subscription_<event> line."""
    period = extra.pop("billing_period", "monthly")
    return track(message_id, user_id, timestamp, f"subscription_{event}", plan=plan, billing_period=period,
                 mrr_cents=mrr_cents, **extra)


def pay(message_id: str, user_id: str, timestamp: str, ok: bool, amount_cents: Any) -> dict[str, Any]:
    """A payment_succeeded / payment_failed line."""
    return track(message_id, user_id, timestamp, "payment_succeeded" if ok else "payment_failed",
                 amount_cents=amount_cents)


# file name → lines; the names sort in the order they arrive (load order = path order)
STORY: dict[str, list[dict[str, Any]]] = {
    "events_2024-01.jsonl": [
        sub("ann1", "ann", "2024-01-10T09:00:00Z", "started", 2500, plan="business", billing_period="annual"),
        pay("annp1", "ann", "2024-01-10T09:00:05Z", True, 30000),
        sub("ret1", "ret", "2024-01-15T10:00:00Z", "started", 1000),
        pay("retp1", "ret", "2024-01-15T10:00:05Z", True, 1000),
        sub("ud1", "updown", "2024-01-20T10:00:00Z", "started", 2000),
        sub("inv1", "invol", "2024-01-05T10:00:00Z", "started", 3000),
    ],
    "events_2024-02.jsonl": [
        sub("z-tie", "tie", "2024-02-01T00:00:00Z", "started", 6000),
        sub("a-tie", "tie", "2024-02-01T00:00:00Z", "changed", 4000),
        sub("ud2", "updown", "2024-02-10T10:00:00Z", "changed", 5000, plan="business"),
        sub("ud3", "updown", "2024-02-20T10:00:00Z", "changed", 3000),
        sub("dun1", "dunning", "2024-02-15T10:00:00Z", "started", 1200),
        pay("retp2", "ret", "2024-02-15T10:00:05Z", True, 1000),
    ],
    "events_2024-03.jsonl": [
        sub("blip1", "blip", "2024-03-05T10:00:00Z", "started", 900),
        sub("blip2", "blip", "2024-03-25T10:00:00Z", "cancelled", 0, reason="other"),
        pay("blipp1", "blip", "2024-03-05T10:00:05Z", True, "not a number"),
    ],
    "events_2024-04.jsonl": [
        sub("inv2", "invol", "2024-04-10T10:00:00Z", "cancelled", 0, reason="payment_failed"),
        pay("invp1", "invol", "2024-04-09T10:00:00Z", False, 3000),
    ],
    "events_2024-05.jsonl": [
        sub("dun2", "dunning", "2024-05-05T10:00:00Z", "cancelled", 0, reason="payment_failed"),
        sub("dun3", "dunning", "2024-05-20T10:00:00Z", "started", 1200),
        pay("dunp1", "dunning", "2024-05-04T10:00:00Z", False, 1200),
        pay("dunp2", "dunning", "2024-05-19T10:00:00Z", True, 1200),
    ],
    "events_2024-06.jsonl": [
        sub("ret3", "ret", "2024-06-05T10:00:00Z", "started", 1500),
        sub("blip3", "blip", "2024-06-10T10:00:00Z", "started", 700),
        sub("ud4", "updown", "2024-06-12T10:00:00Z", "changed", 2500),
    ],
    "events_2024-07.jsonl": [
        track("pv1", "ann", "2024-07-15T10:00:00Z", "page_viewed"),
    ],
    "events_2024-08.jsonl": [
        track("pv2", "ann", "2024-08-15T10:00:00Z", "page_viewed"),
    ],
    # delivered late, in the last file: ret's April cancellation
    "events_2024-08-late.jsonl": [
        sub("ret2", "ret", "2024-04-03T10:00:00Z", "cancelled", 0, reason="too_expensive"),
    ],
}


def write_story(landing_dir: Path, names: list[str] | None = None) -> list[Path]:
    """Write the story's files (or only the named ones) into a landing folder."""
    paths = []
    for name, lines in STORY.items():
        if names is None or name in names:
            path = landing_dir / name
            path.write_text("".join(json.dumps(line) + "\n" for line in lines))
            paths.append(path)
    return paths
