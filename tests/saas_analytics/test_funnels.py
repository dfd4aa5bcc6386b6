"""Funnel definitions: the shipped YAML loads; a bad one fails with the funnel and the key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from saas_analytics.funnels import FunnelDefinitionError, load_funnels, parse_funnels

GOOD_STEPS = "    steps:\n      - event: signed_up\n      - event: document_created\n"


def test_the_shipped_funnels_load() -> None:
    steps = load_funnels()
    names = {s.funnel for s in steps}
    assert {"activation", "trial_to_paid", "pricing_to_signup"} <= names
    activation = [s for s in steps if s.funnel == "activation"]
    assert [(s.step, s.event_name, s.window_days) for s in activation] == [
        (1, "signed_up", 14), (2, "document_created", 14), (3, "invited_teammate", 14)]
    trial = [s for s in steps if s.funnel == "trial_to_paid"]
    assert trial[0].property_filters == {"plan": "trial"} and trial[0].step_name == "signed_up (plan = trial)"


@pytest.mark.parametrize(("body", "message"), [
    ("  - name: a\n    window_days: 3\n    windw: 4\n" + GOOD_STEPS, r"funnel 'a': unknown key 'windw'"),
    ("  - name: a\n    window_days: 0\n" + GOOD_STEPS, r"funnel 'a': key 'window_days' must be a positive"),
    ("  - name: a\n    window_days: 3\n    steps:\n      - event: x\n", r"funnel 'a': key 'steps' must list"),
    ("  - name: a\n    window_days: 3\n    steps:\n      - event: x\n      - evnt: y\n",
     r"funnel 'a', step 2: unknown key 'evnt'"),
    ("  - name: a\n    window_days: 3\n    steps:\n      - event: x\n        where: [1]\n      - event: y\n",
     r"funnel 'a', step 1: key 'where' must map"),
    ("  - name: Bad Name\n    window_days: 3\n" + GOOD_STEPS, r"funnel #1: key 'name'"),
    ("  - name: a\n    window_days: 3\n" + GOOD_STEPS + "  - name: a\n    window_days: 3\n" + GOOD_STEPS,
     r"funnel 'a': key 'name' is used twice"),
])
def test_a_bad_definition_names_the_funnel_and_key(body: str, message: str) -> None:
    with pytest.raises(FunnelDefinitionError, match=message):
        parse_funnels("funnels:\n" + body, Path("sql/funnels.yml"))


def test_not_yaml_or_no_funnels_key_is_a_clear_error() -> None:
    with pytest.raises(FunnelDefinitionError, match="not valid YAML"):
        parse_funnels("funnels: [", Path("f.yml"))
    with pytest.raises(FunnelDefinitionError, match="top-level key 'funnels'"):
        parse_funnels("- name: a", Path("f.yml"))
