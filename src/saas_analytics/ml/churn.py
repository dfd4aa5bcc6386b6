"""Churn risk: point-in-time labels, a calibrated scikit-learn model, an honest temporal evaluation.

Definitions (docs/ml.md has the long form):

* observation dates — every 7 days (Mondays), see `features.observation_dates`;
* population at date t — users with a valid track event in the 30 days before t;
* label — churned = no valid track event in [t, t + 30 days); dates whose horizon is not fully in the
  data are right-censored (never labelled, never trained on);
* features — `features.build_features(..., cutoff=t)`: only what was known before t.

Evaluation is a temporal holdout: the latest `holdout_dates` labelled dates are the test set; training
uses only earlier dates whose whole label horizon ended before the first test date (a purge of
`horizon_days`: at the first test date, no later label could have been known). The same model trained
on shuffled labels (mean over `shuffles` permutations) is the honesty baseline: it must land at 0.5.

The evaluation fit is what a challenger is judged by (against the current champion's evaluation fit,
on the same, unseen holdout); the production fit (same pipeline, all labelled rows) is what scores.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from saas_analytics.ml.data import CoreFrames
from saas_analytics.ml.features import (
    FEATURE_COLUMNS,
    FEATURE_LABELS,
    FEATURE_LOOKBACK_DAYS,
    build_features,
    churn_labels,
    in_population,
    is_labelled,
    observation_dates,
    scoring_cutoff,
)

MODEL_NAME = "churn"
ALGORITHM = "signed log1p → StandardScaler → LogisticRegression, sigmoid-calibrated (CalibratedClassifierCV, 5 folds)"
RISK_BANDS = ("low", "medium", "high")


@dataclass(frozen=True)
class ChurnConfig:
    """Label, split, model and scoring settings (all deterministic)."""

    horizon_days: int = 30
    every_days: int = 7
    active_within_days: int = 30
    holdout_dates: int = 2
    purge_days: int | None = None  # None: the label horizon (the honest minimum)
    # the bounded training window: the latest `train_dates` observation dates before the purge and the
    # holdout (None for max_history_days: derived from train_dates; a number of days overrides it)
    train_dates: int = 12
    max_history_days: int | None = None
    min_train_rows: int = 100
    min_class_rows: int = 10
    regularisation_c: float = 0.1
    calibration_folds: int = 5
    shuffles: int = 20  # shuffled-label fits (uncalibrated: 1 fit each), only on training days
    random_state: int = 42
    medium_risk: float = 0.2
    high_risk: float = 0.5
    top_drivers: int = 3
    features: tuple[str, ...] = FEATURE_COLUMNS

    @property
    def history_days(self) -> int:
        """How far back observation dates go: the censored horizon, the holdout, the purge and `train_dates`."""
        if self.max_history_days is not None:
            return self.max_history_days
        dates = self.train_dates + self.holdout_dates + -(-self.purge // self.every_days) + 1
        return self.horizon_days + self.every_days * dates

    def history_since(self, as_of: date) -> date:
        """The first event day training needs: the oldest observation date minus the 90-day feature window."""
        return as_of - timedelta(days=self.history_days + FEATURE_LOOKBACK_DAYS)

    @property
    def purge(self) -> int:
        """Days between a training date and the first test date: the label horizon unless set."""
        return self.horizon_days if self.purge_days is None else self.purge_days


class NotEnoughData(RuntimeError):
    """Too little labelled history to train or evaluate honestly (the reason is the message)."""


@dataclass
class ChurnModel:
    """A fitted model with what is needed to use and audit it."""

    version: str
    features: list[str]
    estimator: CalibratedClassifierCV
    sklearn_version: str = sklearn.__version__

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Churn probability for each row of a feature frame."""
        if frame.empty:
            return np.zeros(0)
        return self.estimator.predict_proba(frame.loc[:, self.features].to_numpy(dtype=float))[:, 1]


@dataclass
class TrainingResult:
    """Everything one training run produces."""

    version: str
    as_of: date
    evaluation_model: ChurnModel
    production_model: ChurnModel
    metrics: dict
    split: dict
    params: dict
    test_set: pd.DataFrame = field(repr=False)


# ---------------------------------------------------------------------------------------------
# data set

DATASET_COLUMNS = ("obs_date", "user_id", *FEATURE_COLUMNS, "plan", "churned")


def build_dataset(frames: CoreFrames, as_of: date, config: ChurnConfig | None = None) -> pd.DataFrame:
    """Labelled observations: one row per (obs_date, user in that date's population) with features and `churned`."""
    config = config or ChurnConfig()
    events = frames.events
    if events.empty:
        return pd.DataFrame(columns=list(DATASET_COLUMNS))
    first_day = max(events["event_at"].min().date(), as_of - timedelta(days=config.history_days))
    parts = [observations(frames, t, config) for t in observation_dates(first_day, as_of, config.every_days)
             if is_labelled(t, as_of, config.horizon_days)]
    parts = [part for part in parts if not part.empty]
    if not parts:
        return pd.DataFrame(columns=list(DATASET_COLUMNS))
    return pd.concat(parts, ignore_index=True).loc[:, list(DATASET_COLUMNS)]



def observations(frames: CoreFrames, obs_date: date, config: ChurnConfig | None = None) -> pd.DataFrame:
    """The labelled observations of one date: its population, features before it, the label from the horizon after.

    The one definition training (`build_dataset`) and the champion's holdout check (`holdout_check`) use;
    the caller makes sure the date is labelled (its whole horizon is in the data).
    """
    config = config or ChurnConfig()
    feats = build_features(frames.events, frames.subscriptions, obs_date)
    feats = feats.loc[in_population(feats, config.active_within_days)]
    if feats.empty:
        return pd.DataFrame(columns=list(DATASET_COLUMNS))
    labels = churn_labels(frames.events, obs_date, feats.index, config.horizon_days)
    return feats.assign(churned=labels).reset_index().assign(obs_date=obs_date).loc[:, list(DATASET_COLUMNS)]


def temporal_split(dataset: pd.DataFrame, config: ChurnConfig | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test): test = the latest `holdout_dates` dates; train = dates ≥ `purge` days before the first."""
    config = config or ChurnConfig()
    dates = sorted(dataset["obs_date"].unique())
    if len(dates) < config.holdout_dates + 1:
        raise NotEnoughData(f"{len(dates)} labelled observation dates; need at least {config.holdout_dates + 1}")
    test_dates = dates[-config.holdout_dates:]
    last_train = test_dates[0] - timedelta(days=config.purge)
    train = dataset.loc[(dataset["obs_date"] <= last_train) & (dataset["obs_date"] < test_dates[0])]
    test = dataset.loc[dataset["obs_date"].isin(test_dates)]
    for name, part in (("training", train), ("holdout", test)):
        counts = part["churned"].value_counts()
        if len(part) < (config.min_train_rows if name == "training" else 1) or \
                min(counts.get(0, 0), counts.get(1, 0)) < config.min_class_rows:
            raise NotEnoughData(
                f"{name} set too small after the {config.purge}-day purge: {len(part)} rows, "
                f"{counts.get(1, 0)} churned (need {config.min_train_rows} rows and "
                f"{config.min_class_rows} of each class)")
    return train, test


# ---------------------------------------------------------------------------------------------
# model


def signed_log1p(x: np.ndarray) -> np.ndarray:
    """sign(x) · log(1 + |x|): tames heavy-tailed counts and MRR, keeps signs of trends."""
    return np.sign(x) * np.log1p(np.abs(x))


def make_estimator(config: ChurnConfig | None = None) -> CalibratedClassifierCV:
    """The unfitted model: a Pipeline (log transform, scaling, logistic regression), sigmoid-calibrated."""
    config = config or ChurnConfig()
    pipeline = Pipeline([
        ("log", FunctionTransformer(signed_log1p)),
        ("scale", StandardScaler()),
        ("classifier", LogisticRegression(C=config.regularisation_c, max_iter=5000)),
    ])
    folds = StratifiedKFold(config.calibration_folds, shuffle=True, random_state=config.random_state)
    return CalibratedClassifierCV(pipeline, method="sigmoid", cv=folds)


def fit_model(frame: pd.DataFrame, labels: np.ndarray, version: str, config: ChurnConfig | None = None,
              features: list[str] | None = None) -> ChurnModel:
    """Fit the model on a feature frame and 0/1 labels."""
    features = list(features or (config or ChurnConfig()).features)
    estimator = make_estimator(config).fit(frame.loc[:, features].to_numpy(dtype=float), labels)
    return ChurnModel(version=version, features=features, estimator=estimator)


def top_decile_lift(y: np.ndarray, p: np.ndarray) -> float:
    """Churn rate among the 10 % highest scores divided by the overall rate."""
    y, p = np.asarray(y), np.asarray(p)
    k = max(1, int(np.ceil(0.1 * len(y))))
    top = np.argsort(-p, kind="stable")[:k]
    return float(y[top].mean() / y.mean()) if y.mean() > 0 else float("nan")


def evaluate(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Holdout metrics: ROC AUC, PR AUC (average precision), Brier score, base rate, top-decile lift."""
    y = np.asarray(y, dtype=int)
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "base_rate": float(y.mean()),
        "top_decile_lift": top_decile_lift(y, p),
    }


def shuffled_baseline(train: pd.DataFrame, test: pd.DataFrame, config: ChurnConfig | None = None) -> dict:
    """The same model trained on permuted training labels, scored on the real holdout labels.

    One permutation's AUC scatters widely (a random direction in correlated, informative features),
    so the baseline is the mean over `config.shuffles` seeded permutations, with its spread. Each is the
    model's pipeline without the calibration wrapper: sigmoid calibration is monotonic and AUC only
    ranks, and one fit instead of `calibration_folds` buys more permutations for the same time.
    """
    config = config or ChurnConfig()
    rng = np.random.default_rng(config.random_state)
    y = train["churned"].to_numpy(dtype=int)
    x_train = train.loc[:, list(config.features)].to_numpy(dtype=float)
    x_test = test.loc[:, list(config.features)].to_numpy(dtype=float)
    aucs = []
    for _ in range(config.shuffles):
        pipeline = make_estimator(config).estimator.fit(x_train, rng.permutation(y))
        aucs.append(roc_auc_score(test["churned"].to_numpy(dtype=int), pipeline.predict_proba(x_test)[:, 1]))
    return {"shuffled_roc_auc": float(np.mean(aucs)), "shuffled_roc_auc_std": float(np.std(aucs)),
            "shuffles": config.shuffles}


def model_version(as_of: date, dataset: pd.DataFrame, config: ChurnConfig) -> str:
    """A deterministic version: as_of plus a hash of the data, features, settings and library version."""
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(dataset, index=False).to_numpy().tobytes())
    digest.update(json.dumps({"config": asdict(config),
                              "algorithm": ALGORITHM, "sklearn": sklearn.__version__}, sort_keys=True).encode())
    return f"{MODEL_NAME}-{as_of:%Y%m%d}-{digest.hexdigest()[:10]}"


def train(frames: CoreFrames, as_of: date, config: ChurnConfig | None = None,
          dataset: pd.DataFrame | None = None) -> TrainingResult:
    """Build the labelled data set, fit and evaluate on the temporal holdout, then fit for production."""
    config = config or ChurnConfig()
    dataset = build_dataset(frames, as_of, config) if dataset is None else dataset
    if dataset.empty:
        raise NotEnoughData("no labelled observation dates yet (the 30-day horizon has not elapsed)")
    train_set, test_set = temporal_split(dataset, config)
    version = model_version(as_of, dataset, config)
    evaluation = fit_model(train_set, train_set["churned"].to_numpy(dtype=int), version, config)
    probabilities = evaluation.predict(test_set)
    metrics = evaluate(test_set["churned"].to_numpy(), probabilities)
    metrics.update(shuffled_baseline(train_set, test_set, config))
    labelled = dataset
    production = fit_model(labelled, labelled["churned"].to_numpy(dtype=int), version, config)
    split = {
        "train_rows": len(train_set), "test_rows": len(test_set), "production_rows": len(labelled),
        "train_from": min(train_set["obs_date"]), "train_to": max(train_set["obs_date"]),
        "test_from": min(test_set["obs_date"]), "test_to": max(test_set["obs_date"]),
        "train_dates": int(train_set["obs_date"].nunique()), "test_dates": int(test_set["obs_date"].nunique()),
        "train_base_rate": float(train_set["churned"].mean()),
    }
    return TrainingResult(version=version, as_of=as_of, evaluation_model=evaluation, production_model=production,
                          metrics=metrics, split=split, params=training_params(config), test_set=test_set)


def training_params(config: ChurnConfig) -> dict:
    """The settings a training run records (JSON-normalised), also what decides whether a model is stale."""
    params = {**asdict(config), "purge": config.purge, "history_days": config.history_days,
              "algorithm": ALGORITHM, "sklearn_version": sklearn.__version__}
    return json.loads(json.dumps(params, default=str))


def retrain_due(as_of: date, latest: dict | None, config: ChurnConfig, retrain_days: int,
                force: bool = False) -> tuple[bool, str]:
    """Whether to train today, and why: no model yet, changed settings, or the latest is `retrain_days` old.

    `latest` is the latest training run (analytics.ml_model_runs: as_of, model_version, params), promoted
    or not, so a challenger that lost does not make every following day retrain. Ages are in data days
    (as_of − the run's as_of), never wall-clock: a re-run on the same data decides the same.
    """
    if force:
        return True, "retraining forced"
    if latest is None:
        return True, "no model trained yet"
    version, age = latest["model_version"], (as_of - latest["as_of"]).days
    if latest["params"] != training_params(config):
        return True, f"the model settings changed since {version}"
    if age >= retrain_days or age < 0:
        return True, f"the latest model {version} is {age} day(s) old (retrain every {retrain_days})"
    return False, (f"the latest model {version} (as of {latest['as_of']}) is {age} day(s) old;"
                   f" retraining every {retrain_days} days (CHURN_RETRAIN_DAYS)")


def holdout_auc(model: ChurnModel, test_set: pd.DataFrame) -> float | None:
    """A (champion) model's ROC AUC on a holdout, or None when it cannot score these features."""
    if not set(model.features) <= set(test_set.columns):
        return None
    try:
        return float(roc_auc_score(test_set["churned"].to_numpy(dtype=int), model.predict(test_set)))
    except (ValueError, AttributeError, TypeError):
        return None


def promotion_decision(challenger_auc: float, champion_auc: float | None,
                       champion_version: str | None) -> tuple[bool, str]:
    """Promote unless the current champion scores better on the same holdout."""
    if champion_version is None:
        return True, "promoted: first model"
    if champion_auc is None:
        return True, f"promoted: champion {champion_version} cannot be evaluated on this holdout"
    if challenger_auc >= champion_auc:
        return True, f"promoted: holdout ROC AUC {challenger_auc:.4f} ≥ champion {champion_version} {champion_auc:.4f}"
    return False, (f"not promoted: holdout ROC AUC {challenger_auc:.4f} < champion {champion_version} "
                   f"{champion_auc:.4f}")


# ---------------------------------------------------------------------------------------------
# holdout check of the champion between training days


@dataclass(frozen=True)
class HoldoutCheck:
    """The champion evaluated on the newest matured observation date (or why it was not)."""

    verdict: str  # "degraded", "ok" or "not evaluated"
    reason: str
    obs_date: date | None = None
    rows: int = 0
    churned: int = 0
    roc_auc: float | None = None
    recorded_roc_auc: float | None = None
    tolerance: float | None = None
    model_version: str | None = None
    checked_in: str | None = None  # the run whose evaluation this verdict repeats (None: evaluated now)

    @property
    def degraded(self) -> bool:
        """True when the champion's ROC AUC fell by more than the tolerance: retrain."""
        return self.verdict == "degraded"

    @classmethod
    def from_detail(cls, detail: dict, run_id: str) -> HoldoutCheck:
        """The check a stage detail recorded (`as_detail`), marked as repeated from `run_id`."""
        fields = {k: v for k, v in detail.items() if k in cls.__dataclass_fields__}
        if fields.get("obs_date"):
            fields["obs_date"] = date.fromisoformat(fields["obs_date"])
        return cls(**{**fields, "checked_in": fields.get("checked_in") or run_id})

    def as_detail(self) -> dict:
        """A JSON-able record for the stage detail."""
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if self.obs_date is not None:
            out["obs_date"] = self.obs_date.isoformat()
        for key in ("roc_auc", "recorded_roc_auc"):
            if key in out:
                out[key] = round(out[key], 4)
        return out


def newest_labelled_date(as_of: date, config: ChurnConfig | None = None) -> date | None:
    """The newest observation date (on the training grid) whose whole label horizon is in the data through `as_of`."""
    config = config or ChurnConfig()
    first = as_of - timedelta(days=config.horizon_days + 2 * config.every_days)
    dates = observation_dates(first, as_of, config.every_days)
    labelled = [t for t in dates if is_labelled(t, as_of, config.horizon_days)]
    return labelled[-1] if labelled else None


def check_date(as_of: date, seen_through: date | None, config: ChurnConfig | None = None
               ) -> tuple[date | None, str | None]:
    """(the date to check the champion on, None) or (None, why not): a labelled date newer than any model saw.

    `seen_through` is the newest observation date of the champion and of the latest training run (their
    `test_to`): a date a model was trained or tested on says nothing new about the champion, and a newer
    model already judged on it.
    """
    config = config or ChurnConfig()
    newest = newest_labelled_date(as_of, config)
    if newest is None or (seen_through is not None and newest <= seen_through):
        following = (seen_through or as_of) + timedelta(days=config.every_days)
        matures = following + timedelta(days=config.horizon_days - 1)
        return None, (f"no observation date has matured since {seen_through}, the newest one the models were"
                      f" trained or tested on (the next, {following}, is labelled once the data reach {matures})")
    return newest, None


def holdout_check(model: ChurnModel, recorded_auc: float, frames: CoreFrames, obs_date: date,
                  tolerance: float, config: ChurnConfig | None = None) -> HoldoutCheck:
    """Evaluate the champion on one labelled date it never saw; degraded when its ROC AUC fell by more than `tolerance`.

    The observations are built as training builds them (`observations`: features before the date, the label
    from the horizon after it). Too few observations or a single class → "not evaluated", never an error.
    """
    config = config or ChurnConfig()
    rows = observations(frames, obs_date, config)
    churned = int(rows["churned"].sum()) if not rows.empty else 0
    base = {"obs_date": obs_date, "rows": len(rows), "churned": churned, "recorded_roc_auc": recorded_auc,
            "tolerance": tolerance, "model_version": model.version}
    if len(rows) < config.min_train_rows or min(churned, len(rows) - churned) < config.min_class_rows:
        return HoldoutCheck("not evaluated", f"too little matured data on {obs_date}: {len(rows)} observations,"
                            f" {churned} churned (need {config.min_train_rows} and {config.min_class_rows} of each"
                            " class)", **base)
    auc = holdout_auc(model, rows)
    if auc is None:
        return HoldoutCheck("not evaluated", f"the champion {model.version} cannot score these features", **base)
    drop = recorded_auc - auc
    if drop > tolerance:
        return HoldoutCheck("degraded", f"the champion {model.version}'s ROC AUC on {obs_date} ({len(rows)}"
                            f" observations) is {auc:.4f}, {drop:.4f} below the {recorded_auc:.4f} recorded at its"
                            f" promotion (tolerance {tolerance}, CHURN_RETRAIN_AUC_DROP)", roc_auc=auc, **base)
    return HoldoutCheck("ok", f"the champion {model.version}'s ROC AUC on {obs_date} ({len(rows)} observations) is"
                        f" {auc:.4f}, within {tolerance} of the {recorded_auc:.4f} recorded at its promotion",
                        roc_auc=auc, **base)


# ---------------------------------------------------------------------------------------------
# scoring


def risk_band(p: np.ndarray, config: ChurnConfig | None = None) -> np.ndarray:
    """'high' (p ≥ high_risk), 'medium' (p ≥ medium_risk) or 'low'."""
    config = config or ChurnConfig()
    p = np.asarray(p, dtype=float)
    return np.where(p >= config.high_risk, "high", np.where(p >= config.medium_risk, "medium", "low"))


def contributions(model: ChurnModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Per user and feature: the log-odds contribution (coefficient × standardised value), averaged over folds.

    Positive values push the risk up relative to an average user of the training data.
    """
    x = frame.loc[:, model.features].to_numpy(dtype=float)
    total = np.zeros_like(x)
    fitted = model.estimator.calibrated_classifiers_
    for calibrated in fitted:
        pipe = calibrated.estimator
        z = pipe.named_steps["scale"].transform(pipe.named_steps["log"].transform(x))
        total += z * pipe.named_steps["classifier"].coef_[0]
    return pd.DataFrame(total / len(fitted), index=frame.index, columns=model.features)


def top_drivers(model: ChurnModel, frame: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """The k features that raise each user's risk the most (positive contributions only), long format."""
    contrib = contributions(model, frame)
    if contrib.empty:
        return pd.DataFrame(columns=["user_id", "driver_rank", "feature", "description", "feature_value",
                                     "contribution"])
    long = contrib.stack().rename("contribution").reset_index()
    long.columns = ["user_id", "feature", "contribution"]
    long = long.loc[long["contribution"] > 0]
    long = long.sort_values(["user_id", "contribution", "feature"], ascending=[True, False, True], kind="stable")
    long["driver_rank"] = long.groupby("user_id").cumcount() + 1
    long = long.loc[long["driver_rank"] <= k].copy()
    values = frame.loc[:, model.features]
    long["feature_value"] = [float(values.at[u, f]) for u, f in zip(long["user_id"], long["feature"], strict=True)]
    long["description"] = long["feature"].map(FEATURE_LABELS).fillna(long["feature"])
    return long.loc[:, ["user_id", "driver_rank", "feature", "description", "feature_value", "contribution"]]


def _format_value(value: float) -> str:
    """A compact number for driver text."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def score_users(model: ChurnModel, frames: CoreFrames, as_of: date,
                config: ChurnConfig | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores for every user in the current population (active in the 30 days through `as_of`), and drivers.

    Returns (scores indexed by user_id: churn_probability, risk_band, mrr, plan, top_drivers text;
    drivers in long format).
    """
    config = config or ChurnConfig()
    feats = build_features(frames.events, frames.subscriptions, scoring_cutoff(as_of))
    feats = feats.loc[in_population(feats, config.active_within_days)]
    p = model.predict(feats)
    scores = pd.DataFrame({"churn_probability": p, "risk_band": risk_band(p, config),
                           "mrr": feats["mrr"].to_numpy(), "plan": feats["plan"].to_numpy()}, index=feats.index)
    drivers = top_drivers(model, feats, config.top_drivers)
    text = drivers.assign(item=[f"{d} = {_format_value(v)}" for d, v in
                                zip(drivers["description"], drivers["feature_value"], strict=True)])
    scores["top_drivers"] = text.groupby("user_id")["item"].agg("; ".join).reindex(scores.index).fillna("")
    return scores, drivers


# ---------------------------------------------------------------------------------------------
# artifacts


def dump_model(model: ChurnModel) -> bytes:
    """Serialise a model (pickle; only the pipeline's own role can write the artifact table)."""
    buf = io.BytesIO()
    pickle.dump(model, buf, protocol=pickle.HIGHEST_PROTOCOL)
    return buf.getvalue()


def load_model(blob: bytes) -> ChurnModel:
    """Deserialise a model written by `dump_model`."""
    model = pickle.loads(blob)  # noqa: S301 - our own artifact, from a table only the pipeline writes
    if not isinstance(model, ChurnModel):
        raise TypeError("artifact is not a ChurnModel")
    return model
