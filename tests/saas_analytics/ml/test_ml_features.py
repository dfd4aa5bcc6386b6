"""Point-in-time features: exact values on a hand-made history, and no leakage from after the cut-off."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest

from pipeline_helpers import run_pipeline
from saas_analytics.ml import data
from saas_analytics.ml.features import (
    FEATURE_COLUMNS,
    OUTPUT_COLUMNS,
    build_features,
    churn_labels,
    in_population,
    is_labelled,
    observation_dates,
    scoring_cutoff,
)
from saas_analytics.simulator import SimulationConfig, simulate

CUTOFF = date(2026, 3, 10)


def ev(user: str, when: str, name: str = "page_viewed", platform: str = "web", feature: str | None = None,
       document_id: str | None = None, received: str | None = None) -> dict:
    """One track event row."""
    at = pd.Timestamp(when, tz="UTC")
    return {"user_id": user, "event_at": at, "received_at": pd.Timestamp(received, tz="UTC") if received else at,
            "event_name": name, "platform": platform, "feature": feature, "document_id": document_id}


def sub(user: str, when: str, name: str, plan: str, period: str, cents: int) -> dict:
    """One subscription event row."""
    return {"user_id": user, "event_at": pd.Timestamp(when, tz="UTC"), "event_name": name, "plan": plan,
            "billing_period": period, "mrr_cents": cents}


def hand_made() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two users known before 2026-03-10 and one who appears only on it."""
    events = pd.DataFrame([
        ev("a", "2026-02-01T10:00:00", "signed_up"),
        ev("a", "2026-02-20T09:00:00", "feature_used", feature="comments"),
        ev("a", "2026-03-01T09:00:00", platform="ios"),
        ev("a", "2026-03-05T09:00:00", "feature_used", feature="editor"),
        ev("a", "2026-03-08T09:00:00", "document_edited", document_id="doc_1"),
        ev("a", "2026-03-09T08:00:00", "session_started"),
        ev("a", "2026-03-09T08:01:00"),
        # stamped before the cut-off but received after it: not in the warehouse yet at the cut-off
        ev("a", "2026-03-09T23:00:00", "feature_used", feature="api", received="2026-03-10T01:00:00"),
        ev("a", "2026-03-10T00:00:00", "feature_used", feature="sso"),  # on the cut-off: excluded
        ev("b", "2026-03-09T12:00:00", "signed_up"),
        ev("b", "2026-03-09T12:05:00"),
        ev("c", "2026-03-10T09:00:00", "signed_up"),
    ])
    subs = pd.DataFrame([
        sub("a", "2026-02-15T00:00:00", "subscription_started", "pro", "monthly", 7900),
        sub("a", "2026-03-10T00:00:00", "subscription_changed", "business", "annual", 16583),
        sub("b", "2026-03-09T12:10:00", "subscription_started", "starter", "monthly", 2900),
        sub("b", "2026-03-09T18:00:00", "subscription_cancelled", "starter", "monthly", 0),
    ])
    return events, subs


def test_features_of_a_hand_made_history_are_exact():
    events, subs = hand_made()
    f = build_features(events, subs, CUTOFF)
    assert list(f.index) == ["a", "b"]  # c is only known from the cut-off on
    assert list(f.columns) == list(OUTPUT_COLUMNS)
    a, b = f.loc["a"], f.loc["b"]
    expected_a = {
        "tenure_days": 37, "recency_days": 1, "events_7d": 4, "events_30d": 6, "events_90d": 7,
        "active_days_7d": 3, "active_days_30d": 5, "active_days_90d": 6, "sessions_30d": 1,
        "feature_uses_30d": 2, "distinct_features_30d": 2, "distinct_features_90d": 2,
        "document_events_30d": 1, "distinct_documents_30d": 1, "documents_created_30d": 0,
        "mrr": 79.0, "is_paying": 1, "plan_pro": 1, "plan_business": 0, "annual_billing": 0,
    }
    for name, value in expected_a.items():
        assert a[name] == pytest.approx(value), name
    assert a["plan"] == "pro"
    assert a["ios_share_90d"] == pytest.approx(1 / 7) and a["web_share_90d"] == pytest.approx(6 / 7)
    # last 7 days (4 events) vs the 7 before (the ios event on Mar 1): log(5) - log(2)
    assert a["events_trend_7d"] == pytest.approx(np.log(5) - np.log(2))
    assert (b["tenure_days"], b["recency_days"], b["events_7d"], b["mrr"], b["is_paying"], b["plan"]) == (
        1, 1, 2, 0.0, 0, "free")
    assert f[list(FEATURE_COLUMNS)].notna().all().all()


def test_no_events_gives_an_empty_frame_with_the_feature_columns():
    f = build_features(data.empty_events(), pd.DataFrame(columns=list(data.SUBSCRIPTION_COLUMNS)), CUTOFF)
    assert f.empty and list(f.columns) == list(OUTPUT_COLUMNS)


def random_history(rng: np.random.Generator, users: int = 40, days: int = 70) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random events and subscription changes over `days` days from 2026-01-01."""
    n = users * 30
    start = pd.Timestamp("2026-01-01", tz="UTC")
    at = start + pd.to_timedelta(rng.integers(0, days * 86_400, n), unit="s")
    names = rng.choice(["page_viewed", "feature_used", "session_started", "document_edited", "signed_up"], n)
    events = pd.DataFrame({
        "user_id": [f"u{i:03d}" for i in rng.integers(0, users, n)],
        "event_at": at,
        "received_at": at + pd.to_timedelta(rng.exponential(3600, n).astype(int), unit="s"),
        "event_name": names,
        "platform": rng.choice(["web", "ios", "android"], n),
        "feature": np.where(names == "feature_used", rng.choice(["editor", "api", "sso"], n), None),
        "document_id": np.where(names == "document_edited", [f"d{k}" for k in rng.integers(0, 50, n)], None),
    })
    m = users * 2
    sat = start + pd.to_timedelta(rng.integers(0, days * 86_400, m), unit="s")
    subs = pd.DataFrame({"user_id": [f"u{i:03d}" for i in rng.integers(0, users, m)], "event_at": sat,
                         "event_name": "subscription_changed", "plan": rng.choice(["starter", "pro"], m),
                         "billing_period": "monthly", "mrr_cents": rng.choice([0, 2900, 7900], m)})
    return events, subs


def tamper_after(events: pd.DataFrame, subs: pd.DataFrame, cutoff: date,
                 rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Delete, move, rename and add events (and subscription changes) on or after the cut-off."""
    t = pd.Timestamp(cutoff.isoformat(), tz="UTC")
    before, after = events[events["event_at"] < t], events[events["event_at"] >= t].copy()
    after = after.sample(frac=0.5, random_state=1)  # delete half
    after["event_at"] = after["event_at"] + pd.to_timedelta(rng.integers(0, 5 * 86_400, len(after)), unit="s")
    after["received_at"] = after["event_at"]
    after["event_name"] = "feature_used"
    after["feature"] = "brand_new_feature"
    extra = after.assign(user_id="u_new_after", platform="android")  # a user who appears only afterwards
    sub_before, sub_after = subs[subs["event_at"] < t], subs[subs["event_at"] >= t].copy()
    sub_after["mrr_cents"] = 99_999
    return (pd.concat([before, after, extra], ignore_index=True),
            pd.concat([sub_before, sub_after.iloc[::2]], ignore_index=True))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_changing_or_deleting_events_after_the_cutoff_changes_no_feature_row(seed):
    rng = np.random.default_rng(seed)
    events, subs = random_history(rng)
    for cutoff in (date(2026, 1, 20), date(2026, 2, 9), date(2026, 3, 2)):
        reference = build_features(events, subs, cutoff)
        assert len(reference) > 10
        tampered = build_features(*tamper_after(events, subs, cutoff, rng), cutoff)
        pd.testing.assert_frame_equal(reference, tampered)
        # and the feature rows do depend on the past (the test would catch a leak)
        earlier = build_features(events, subs, cutoff - timedelta(days=3))
        assert not earlier.reindex(reference.index).equals(reference)


def test_events_received_after_the_cutoff_are_not_yet_known():
    events, subs = hand_made()
    late = events.assign(received_at=events["event_at"] + pd.Timedelta(days=60))
    f = build_features(late, subs, CUTOFF)
    assert f.empty  # nothing had arrived in the warehouse by the cut-off


def test_labels_look_exactly_30_days_ahead():
    events = pd.DataFrame([
        ev("stays", "2026-03-10T00:00:00"), ev("back_late", "2026-04-09T00:00:00"),
        ev("back_on_day_29", "2026-04-08T23:59:59"), ev("only_before", "2026-03-09T23:00:00"),
    ])
    users = pd.Index(["stays", "back_late", "back_on_day_29", "only_before"])
    labels = churn_labels(events, CUTOFF, users)
    assert labels.to_dict() == {"stays": 0, "back_late": 1, "back_on_day_29": 0, "only_before": 1}


def test_observation_dates_are_weekly_and_right_censored():
    dates = observation_dates(date(2026, 6, 1), date(2026, 8, 29))
    assert all(d.weekday() == 0 for d in dates) and dates[0] == date(2026, 6, 8)
    assert all((b - a).days == 7 for a, b in zip(dates, dates[1:], strict=False))
    assert dates[-1] <= scoring_cutoff(date(2026, 8, 29))
    labelled = [d for d in dates if is_labelled(d, date(2026, 8, 29))]
    assert labelled[-1] == date(2026, 7, 27)  # + 30 days = Aug 26 ≤ Aug 30; Aug 3 + 30 = Sep 2 is censored
    assert is_labelled(date(2026, 7, 31), date(2026, 8, 29)) and not is_labelled(date(2026, 8, 1), date(2026, 8, 29))
    # the grid does not move when tomorrow's data arrives
    assert observation_dates(date(2026, 6, 1), date(2026, 8, 30))[: len(dates)] == dates


def test_population_is_users_active_in_the_30_days_before():
    frame = pd.DataFrame({"recency_days": [1, 30, 31]}, index=pd.Index(["a", "b", "c"], name="user_id"))
    assert list(frame.index[in_population(frame)]) == ["a", "b"]


def test_leakage_on_simulated_data_through_the_warehouse(warehouse_db: str, tmp_path: Path):
    """Deleting and rewriting core events after an observation date leaves that date's features unchanged."""
    landing = tmp_path / "landing"
    simulate(SimulationConfig(days=35, users=150, seed=8), landing)
    run_pipeline(warehouse_db, landing, run_id="leak")
    with psycopg.connect(warehouse_db) as conn:
        full = data.read_core(conn)
    cutoffs = (date(2026, 6, 15), date(2026, 6, 22), date(2026, 6, 29))
    reference = {t: build_features(full.events, full.subscriptions, t) for t in cutoffs}
    with psycopg.connect(warehouse_db) as conn:
        for t in sorted(cutoffs, reverse=True):
            # what happened after t disappears or changes; everything before stays as it was
            conn.execute("delete from core.fact_subscription_events where event_at >= %s", [t])
            conn.execute("delete from core.fact_events where event_at >= %s and event_name <> 'page_viewed'", [t])
            conn.execute("update core.fact_events set platform = 'android', event_at = event_at + interval '2 days',"
                         " event_name = 'feature_used', feature = 'sso' where event_at >= %s", [t])
            conn.commit()
            cut = data.read_core(conn)
            assert len(cut.events) < len(full.events)
            pd.testing.assert_frame_equal(build_features(cut.events, cut.subscriptions, t), reference[t])
            assert len(reference[t]) > 30
