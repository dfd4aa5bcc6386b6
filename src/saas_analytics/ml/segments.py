"""Behavioural segments: K-Means on log-transformed, scaled activity features, k chosen by silhouette.

Deterministic by construction: users are sorted by id, K-Means and the silhouette sample use a fixed
`random_state`, segment ids are assigned by sorting the centroids (most active first), and names come
from the centroids by fixed rules (`segment_name`). The same data therefore always gives the same
ids and names. Candidates for k whose smallest segment is below `min_share` of users are rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from saas_analytics.ml.features import FEATURE_LABELS

SEGMENT_FEATURES: tuple[str, ...] = (
    "active_days_30d",
    "events_30d",
    "distinct_features_30d",
    "document_events_30d",
    "recency_days",
    "tenure_days",
)
# the naming rules, in order; thresholds are on the centroid in readable units
NAMING_RULES = (
    ("Dormant", "no activity in the last 30 days (centroid recency > 30 days)"),
    ("Lapsing", "last active 15-30 days ago"),
    ("New", "signed up in the last 14 days"),
    ("Power users", "active on 10 or more of the last 30 days"),
    ("Regular", "active on 4-9 of the last 30 days"),
    ("Casual", "active on fewer than 4 of the last 30 days"),
)


@dataclass(frozen=True)
class SegmentConfig:
    """Segmentation settings."""

    k_min: int = 3
    k_max: int = 8
    min_share: float = 0.05
    lookback_days: int = 90
    min_users: int = 50
    n_init: int = 10
    silhouette_sample: int = 5000
    random_state: int = 42


class NotEnoughUsers(RuntimeError):
    """Too few users to segment."""


@dataclass
class Segmentation:
    """The outcome: one row per user, one per segment, and how k was chosen."""

    assignments: pd.DataFrame  # index user_id: segment_id, segment_name
    profiles: pd.DataFrame  # one row per segment_id
    k: int
    silhouette: float
    silhouettes: dict[int, float] = field(default_factory=dict)


def segment_name(centroid: pd.Series) -> str:
    """The rule-based name of a centroid (readable units), before de-duplication."""
    if centroid["recency_days"] > 30:
        return "Dormant"
    if centroid["recency_days"] > 14:
        return "Lapsing"
    if centroid["tenure_days"] <= 14:
        return "New"
    if centroid["active_days_30d"] >= 10:
        return "Power users"
    if centroid["active_days_30d"] >= 4:
        return "Regular"
    return "Casual"


def unique_names(names: list[str]) -> list[str]:
    """Keep names unique in id order: the second 'Casual' becomes 'Casual (2)'."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _matrix(features: pd.DataFrame) -> np.ndarray:
    """log1p of the segment features (all non-negative counts and days)."""
    return np.log1p(features.loc[:, list(SEGMENT_FEATURES)].to_numpy(dtype=float).clip(min=0))


def choose_k(x: np.ndarray, config: SegmentConfig) -> tuple[int, np.ndarray, dict[int, float]]:
    """The k in [k_min, k_max] with the best silhouette among those whose smallest segment has `min_share`.

    Falls back to k = 2, then to a single segment, when no candidate satisfies the minimum share.
    Returns (k, labels, silhouette by k).
    """
    n = len(x)
    sample = min(n, config.silhouette_sample)
    scores: dict[int, float] = {}

    def fit(k: int) -> tuple[np.ndarray, bool]:
        labels = KMeans(k, n_init=config.n_init, random_state=config.random_state).fit_predict(x)
        sizes = np.bincount(labels, minlength=k)
        if (sizes > 0).sum() < 2:
            return labels, False
        scores[k] = float(silhouette_score(x, labels, sample_size=sample, random_state=config.random_state))
        return labels, bool(sizes.min() / n >= config.min_share)

    best: tuple[float, int, np.ndarray] | None = None
    for k in range(config.k_min, min(config.k_max, n - 1) + 1):
        labels, valid = fit(k)
        if valid and (best is None or scores[k] > best[0]):
            best = (scores[k], k, labels)
    if best is None and config.k_min > 2:
        labels, valid = fit(2)
        if valid:
            best = (scores[2], 2, labels)
    if best is None:
        return 1, np.zeros(n, dtype=int), scores
    return best[1], best[2], scores


def segment_users(features: pd.DataFrame, config: SegmentConfig | None = None) -> Segmentation:
    """Segment the users of a feature frame (from `build_features` at the scoring cut-off).

    Users with no activity in the last `lookback_days` days are left out.
    """
    config = config or SegmentConfig()
    frame = features.loc[features["recency_days"] <= config.lookback_days].sort_index()
    if len(frame) < config.min_users:
        raise NotEnoughUsers(f"{len(frame)} users active in the last {config.lookback_days} days; "
                             f"need {config.min_users}")
    logged = _matrix(frame)
    scaler = StandardScaler().fit(logged)
    x = scaler.transform(logged)
    k, labels, scores = choose_k(x, config)
    # centroids in readable units: back-transform the mean of the scaled log features
    centres = np.vstack([x[labels == j].mean(axis=0) for j in range(k)])
    readable = pd.DataFrame(np.expm1(scaler.inverse_transform(centres)), columns=list(SEGMENT_FEATURES))
    order = readable.assign(_j=range(k)).sort_values(
        ["events_30d", "active_days_30d", "recency_days", "tenure_days", "_j"],
        ascending=[False, False, True, True, True], kind="stable")["_j"].to_numpy()
    segment_of_label = {int(label): rank + 1 for rank, label in enumerate(order)}
    readable = readable.iloc[order].reset_index(drop=True)
    readable.index = pd.RangeIndex(1, k + 1, name="segment_id")
    names = unique_names([segment_name(row) for _, row in readable.iterrows()])
    ids = np.array([segment_of_label[int(label)] for label in labels])
    assignments = pd.DataFrame({"segment_id": ids, "segment_name": [names[i - 1] for i in ids]},
                               index=frame.index)
    profiles = _profiles(frame, assignments, readable, names)
    silhouette = scores.get(k, float("nan"))
    return Segmentation(assignments=assignments, profiles=profiles, k=k, silhouette=silhouette,
                        silhouettes=scores)


def _profiles(frame: pd.DataFrame, assignments: pd.DataFrame, centroids: pd.DataFrame,
              names: list[str]) -> pd.DataFrame:
    """Per segment: size, share, centroid in readable units, paying users and their MRR."""
    grouped = frame.assign(segment_id=assignments["segment_id"]).groupby("segment_id")
    profiles = pd.DataFrame({
        "segment_name": names,
        "users": grouped.size().reindex(centroids.index).fillna(0).astype(int),
        "paying_users": grouped["is_paying"].sum().reindex(centroids.index).fillna(0).astype(int),
        "mrr": grouped["mrr"].sum().reindex(centroids.index).fillna(0.0),
    }, index=centroids.index)
    profiles["share"] = profiles["users"] / profiles["users"].sum()
    profiles = profiles.join(centroids.round(2))
    return profiles.loc[:, ["segment_name", "users", "share", *SEGMENT_FEATURES, "paying_users", "mrr"]]


def describe_features() -> dict[str, str]:
    """Readable descriptions of the segmentation features."""
    return {f: FEATURE_LABELS[f] for f in SEGMENT_FEATURES}
