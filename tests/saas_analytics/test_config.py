"""Settings read from the environment: the churn model's retraining tolerance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from saas_analytics.config import get_settings


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """Settings rebuilt from the (patched) environment, and rebuilt again afterwards."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_auc_drop_tolerance_defaults_to_0_05_and_reads_the_environment(fresh_settings, monkeypatch):
    monkeypatch.delenv("CHURN_RETRAIN_AUC_DROP", raising=False)
    assert get_settings().churn_retrain_auc_drop == 0.05
    get_settings.cache_clear()
    monkeypatch.setenv("CHURN_RETRAIN_AUC_DROP", "0.02")
    assert get_settings().churn_retrain_auc_drop == 0.02


@pytest.mark.parametrize("value", ["-0.1", "1.5", "five percent"])
def test_a_tolerance_outside_0_to_1_is_a_clear_error(fresh_settings, monkeypatch, value):
    monkeypatch.setenv("CHURN_RETRAIN_AUC_DROP", value)
    with pytest.raises(ValueError, match="CHURN_RETRAIN_AUC_DROP must be a fall of ROC AUC between 0 and 1"):
        get_settings()
