"""Segments: rule-based names, minimum share, and the same ids and names from the same data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import psycopg
import pytest

from saas_analytics.ml import data, segments
from saas_analytics.ml.features import build_features, scoring_cutoff


def centroid(**values) -> pd.Series:
    """A centroid in readable units with defaults of an ordinary active user."""
    base = {"active_days_30d": 6.0, "events_30d": 60.0, "distinct_features_30d": 3.0,
            "document_events_30d": 8.0, "recency_days": 3.0, "tenure_days": 40.0}
    return pd.Series({**base, **values})


@pytest.mark.parametrize(("values", "name"), [
    ({"recency_days": 45}, "Dormant"),
    ({"recency_days": 20}, "Lapsing"),
    ({"tenure_days": 9, "active_days_30d": 2}, "New"),
    ({"active_days_30d": 14}, "Power users"),
    ({"active_days_30d": 6}, "Regular"),
    ({"active_days_30d": 2}, "Casual"),
])
def test_names_follow_the_rules(values, name):
    assert segments.segment_name(centroid(**values)) == name


def test_names_are_unique():
    assert segments.unique_names(["Casual", "Regular", "Casual", "Casual"]) == [
        "Casual", "Regular", "Casual (2)", "Casual (3)"]


def blobs(seed: int = 0) -> pd.DataFrame:
    """Three obvious behaviours: heavy daily users, newcomers, and users gone quiet."""
    rng = np.random.default_rng(seed)

    def group(n, active, events, recency, tenure):
        return pd.DataFrame({
            "active_days_30d": rng.poisson(active, n), "events_30d": rng.poisson(events, n),
            "distinct_features_30d": rng.poisson(max(active / 3, 0.1), n),
            "document_events_30d": rng.poisson(events / 5, n), "recency_days": rng.poisson(recency, n) + 1,
            "tenure_days": rng.poisson(tenure, n) + 1, "is_paying": rng.random(n) < 0.3,
            "mrr": rng.choice([0.0, 29.0, 79.0], n)}).astype(float)

    frame = pd.concat([group(120, 20, 300, 1, 60), group(80, 2, 15, 2, 6), group(60, 0, 0, 50, 70)],
                      ignore_index=True)
    frame.index = pd.Index([f"u{i:04d}" for i in rng.permutation(len(frame))], name="user_id")
    return frame


def test_clear_groups_get_the_expected_names_and_sizes():
    result = segments.segment_users(blobs(), segments.SegmentConfig(min_users=10))
    profile = result.profiles.set_index("segment_name")
    assert result.k == 3
    assert set(profile.index) == {"Power users", "New", "Dormant"}
    assert profile.loc["Power users", "users"] == 120 and profile.loc["Dormant", "users"] == 60
    assert list(result.profiles.index) == [1, 2, 3]
    assert result.profiles.loc[1, "segment_name"] == "Power users"  # ids: most active first
    assert result.profiles["share"].sum() == pytest.approx(1.0)
    assert profile.loc["Power users", "active_days_30d"] > 15  # centroid in days, not z-scores


def test_a_segment_below_the_minimum_share_is_never_produced():
    frame = blobs()
    outliers = frame.iloc[:4].copy().assign(events_30d=5000.0, active_days_30d=30.0)
    outliers.index = pd.Index([f"x{i}" for i in range(4)], name="user_id")
    frame = pd.concat([frame, outliers])
    config = segments.SegmentConfig(min_users=10, min_share=0.05)
    result = segments.segment_users(frame, config)
    assert result.profiles["share"].min() >= 0.05


def test_too_few_users_are_not_segmented():
    with pytest.raises(segments.NotEnoughUsers):
        segments.segment_users(blobs().iloc[:20])


def test_two_runs_on_the_same_data_give_identical_ids_and_names(ml_warehouse):
    with psycopg.connect(ml_warehouse.conninfo) as conn:
        as_of = data.latest_activity_date(conn)
        frames = data.read_core(conn)
    features = build_features(frames.events, frames.subscriptions, scoring_cutoff(as_of))
    first = segments.segment_users(features)
    # same data, rows in another order: the same result
    second = segments.segment_users(features.sample(frac=1.0, random_state=7))
    pd.testing.assert_frame_equal(first.assignments, second.assignments)
    pd.testing.assert_frame_equal(first.profiles, second.profiles)
    assert first.k == second.k and 3 <= first.k <= 8
    names = first.profiles["segment_name"]
    assert names.str.len().gt(0).all() and names.is_unique
    assert first.profiles["share"].min() >= segments.SegmentConfig().min_share
    assert first.silhouette == first.silhouettes[first.k]
    # and it is what the task wrote
    with psycopg.connect(ml_warehouse.conninfo) as conn:
        stored = conn.execute("select user_id, segment_id, segment_name from analytics.user_segments"
                              " order by user_id").fetchall()
    assert stored == [(u, int(r.segment_id), r.segment_name) for u, r in first.assignments.sort_index().iterrows()]
