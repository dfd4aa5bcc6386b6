"""Tiny hand-made landing folders for the product analytics (funnels, sessions, lifecycle, acquisition).

Shared by tests/test_reference_product.py (expected values by hand) and
tests/saas_analytics/test_product_analytics.py (the warehouse equals the reference on them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def event(message_id: str, user_id: str, timestamp: str, name: str, **properties: Any) -> dict[str, Any]:
    """A track event line."""
    return {"message_id": message_id, "type": "track", "event": name, "user_id": user_id, "timestamp": timestamp,
            "properties": properties}


def write(directory: Path, name: str, lines: list[dict[str, Any]]) -> None:
    """One plain JSON Lines landing file."""
    (directory / name).write_text("".join(json.dumps(line) + "\n" for line in lines))


def funnel_story(directory: Path) -> None:
    """Activation (14 days), trial_to_paid (30 days) and pricing funnel edge cases; data through 2024-05-16."""
    write(directory, "events_1.jsonl", [
        # p1: step 2 happens before step 1, so only step 1 counts
        event("p1a", "p1", "2024-03-01T09:00:00Z", "document_created"),
        event("p1b", "p1", "2024-03-01T10:00:00Z", "signed_up", channel="organic"),
        # p2: step 2 exactly at the window's end (t1 + 14 days); a trial that pays after 19 days
        event("p2a", "p2", "2024-03-01T10:00:00Z", "signed_up", channel="organic", plan="trial"),
        event("p2b", "p2", "2024-03-15T10:00:00Z", "document_created"),
        event("p2c", "p2", "2024-03-20T10:00:00Z", "subscription_started", plan="pro", mrr_cents=2900),
        # p3: step 2 one second after the window's end; a trial that never pays
        event("p3a", "p3", "2024-03-01T10:00:00Z", "signed_up", plan="trial"),
        event("p3b", "p3", "2024-03-15T10:00:01Z", "document_created"),
        # p4: enters twice; only the first entry counts, so step 2 is outside the window
        event("p4a", "p4", "2024-03-02T10:00:00Z", "signed_up", channel="paid_search"),
        event("p4b", "p4", "2024-03-10T10:00:00Z", "signed_up", channel="organic"),
        event("p4c", "p4", "2024-03-20T10:00:00Z", "document_created"),
        # p5: a tie: step 2 and 3 at the same instant as step 1 (step 2 loaded first) still count
        event("p5b", "p5", "2024-03-05T10:00:00Z", "document_created"),
        event("p5a", "p5", "2024-03-05T10:00:00Z", "signed_up", channel="referral"),
        event("p5c", "p5", "2024-03-05T10:00:00Z", "invited_teammate"),
    ])
    write(directory, "events_2.jsonl", [
        # p8: views the pricing page, signs up half an hour later
        event("p8a", "p8", "2024-04-03T08:00:00Z", "page_viewed", path="/pricing"),
        event("p8b", "p8", "2024-04-03T08:30:00Z", "signed_up", channel="organic"),
        # p7: completes activation within 3 hours; p6 signs up too recently to be judged
        event("p7a", "p7", "2024-05-01T10:00:00Z", "signed_up", channel="referral"),
        event("p7b", "p7", "2024-05-01T12:00:00Z", "document_created"),
        event("p7c", "p7", "2024-05-01T13:00:00Z", "invited_teammate"),
        event("p6a", "p6", "2024-05-05T12:00:00Z", "signed_up"),
        event("p7d", "p7", "2024-05-16T00:00:00Z", "page_viewed", path="/home"),  # data_through
    ])


def session_story(directory: Path) -> None:
    """Sessions across midnight, a gap of exactly 30 minutes, and a gap one second longer."""
    write(directory, "events_1.jsonl", [
        event("s1a", "s1", "2024-03-01T23:50:00Z", "page_viewed"),
        event("s1b", "s1", "2024-03-02T00:10:00Z", "feature_used", feature="export"),  # across midnight
        event("s1c", "s1", "2024-03-02T00:40:00Z", "page_viewed"),  # exactly 30 minutes: same session
        event("s1d", "s1", "2024-03-02T01:10:01Z", "page_viewed"),  # 30 min 1 s: a new session
        event("s2a", "s2", "2024-03-02T12:00:00Z", "page_viewed"),
        {"message_id": "s2i", "type": "identify", "user_id": "s2", "timestamp": "2024-03-02T12:10:00Z",
         "traits": {"plan": "free"}},  # not activity: does not extend the session
        event("s3a", "s3", "2024-03-02T08:00:00Z", "page_viewed"),
        event("s3b", "s3", "2024-03-02T08:10:00+00:00", "page_viewed"),
    ])


def lifecycle_story(directory: Path) -> None:
    """Three persons around a quiet week (ISO weeks of January 2024; Jan 1 is a Monday)."""
    days = {"l1": ["2024-01-01", "2024-01-15"], "l2": ["2024-01-07", "2024-01-22"],
            "l3": ["2024-01-16", "2024-01-23"]}
    write(directory, "events_1.jsonl", [
        event(f"{person}-{day}", person, f"{day}T12:00:00Z", "page_viewed")
        for person, person_days in days.items() for day in person_days
    ])
