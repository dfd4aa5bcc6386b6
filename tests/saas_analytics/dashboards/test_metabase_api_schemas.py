"""The request schemas themselves: the bodies the provisioner builds pass, and the mistakes Metabase would
reject (or silently ignore) are caught — so a green provisioning test means something."""

from __future__ import annotations

import copy

import pytest
from metabase_api_schemas import (
    card_parameter_problems,
    dashcard_problems,
    native_problems,
    schema_problems,
)

from saas_analytics.dashboards import metabase as mb
from saas_analytics.dashboards.definitions import load_dashboards

DASHBOARDS = load_dashboards()
DASHBOARD = DASHBOARDS[0]
CARD = next(c for c in DASHBOARD.cards if c.tags)


def card_body() -> dict:
    return mb.card_body(DASHBOARD, CARD, database_id=1, collection_id=2)


def test_the_provisioners_bodies_pass() -> None:
    for dashboard in DASHBOARDS:
        for card in dashboard.cards:
            body = mb.card_body(dashboard, card, 1, 2)
            assert schema_problems("POST", "/api/card", body) == []
            assert schema_problems("PUT", "/api/card/7", body) == []
            assert native_problems(body["dataset_query"]) == [] and card_parameter_problems(body) == []
    details = mb.WarehouseConnection("postgres", 5432, "warehouse", "analytics_reader", "pw").details()
    body = {"engine": "postgres", "name": "w", "details": details, "is_full_sync": True}
    assert schema_problems("POST", "/api/database", body) == []


def broken(path: list, value) -> dict:
    body = card_body()
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(("body", "expected"), [
    (broken(["visualization_settings"], KeyError), "'visualization_settings' is a required property"),
    (broken(["display"], "sparkline"), "'sparkline' is not one of"),
    (broken(["description"], ""), "'' is not valid"),
    (broken(["dataset_query", "database"], "1"), "'1' is not of type 'integer'"),
    (broken(["dataset_query", "native", "query"], "  "), "does not match"),
    (broken(["dataset_query", "native", "querry"], "select 1"), "Additional properties are not allowed"),
    (broken(["collection_id"], 0), "0 is not valid"),
    (broken(["visualisation_settings"], {}), "Additional properties are not allowed"),
])
def test_card_schema_catches_mistakes(body: dict, expected: str) -> None:
    assert any(expected in p for p in schema_problems("POST", "/api/card", body)), schema_problems(
        "POST", "/api/card", body)


def test_template_tag_rules() -> None:
    body = card_body()
    tags = body["dataset_query"]["native"]["template-tags"]
    tag = next(iter(tags))
    no_id = copy.deepcopy(body)
    del no_id["dataset_query"]["native"]["template-tags"][tag]["id"]
    assert any("'id' is a required property" in p for p in schema_problems("POST", "/api/card", no_id))
    renamed = copy.deepcopy(body)
    renamed["dataset_query"]["native"]["template-tags"][tag]["name"] = "other"
    assert any("differs from its name" in p for p in native_problems(renamed["dataset_query"]))
    undeclared = copy.deepcopy(body)
    del undeclared["dataset_query"]["native"]["template-tags"][tag]
    assert any("not declared" in p for p in native_problems(undeclared["dataset_query"]))
    wrong_type = copy.deepcopy(body)
    wrong_type["parameters"][0]["type"] = "date/range"  # a range cannot fill a plain date variable
    assert any("may not fill a 'date'" in p for p in card_parameter_problems(wrong_type))


def test_dashcard_rules() -> None:
    cards = {10: card_body(), 11: card_body()}
    parameters = mb.dashboard_parameters(DASHBOARD)
    start = parameters[0]["id"]

    def dashcard(id_: int, card_id: int, col: int, width: int, tag: str = "start_date") -> dict:
        return {"id": id_, "card_id": card_id, "row": 0, "col": col, "size_x": width, "size_y": 2,
                "parameter_mappings": [{"parameter_id": start, "card_id": card_id,
                                        "target": ["variable", ["template-tag", tag]]}]}

    assert dashcard_problems([dashcard(-1, 10, 0, 12), dashcard(-2, 11, 12, 12)], parameters, cards, set()) == []
    problems = dashcard_problems([dashcard(-1, 10, 0, 14), dashcard(-2, 11, 12, 13, "since"), dashcard(5, 99, 0, 1)],
                                 parameters, cards, set())
    assert any("overlap" in p for p in problems)
    assert any("extends past the 24-column grid" in p for p in problems)
    assert any("template tag 'since'" in p for p in problems)
    assert any("neither new (negative) nor on this dashboard" in p for p in problems)
    assert any("card 99, which does not exist" in p for p in problems)
    body = {"dashcards": [dashcard(-1, 10, 0, 12) | {"size_x": 0}]}
    assert any("less than the minimum of 1" in p for p in schema_problems("PUT", "/api/dashboard/3", body))


def test_other_endpoints() -> None:
    assert schema_problems("POST", "/api/dashboard/3/cards", {"cardId": 1}), "removed in v0.47: must not be used"
    assert schema_problems("POST", "/api/setup", {"token": "t", "user": {"email": "not-an-email", "password": "x"},
                                                  "prefs": {"site_name": "s"}})
    assert schema_problems("POST", "/api/collection", {"name": "x", "description": ""})
    assert schema_problems("POST", "/api/database", {"engine": "postgres", "name": "w",
                                                     "details": {"host": "h", "port": "5432"}})
