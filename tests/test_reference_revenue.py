"""Hand-computed checks of the pandas revenue reference (tests/reference_revenue.py) on tests/revenue_fixtures.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

import reference_revenue as rev
from reference_metrics import read_landing
from revenue_fixtures import write_story

MONTHS = [date(2024, m, 1) for m in range(1, 9)]


def money(*values: str | None) -> list[Decimal | None]:
    """Decimals from literal strings (None stays None)."""
    return [None if v is None else Decimal(v) for v in values]


@pytest.fixture
def story(tmp_path: Path) -> pd.DataFrame:
    write_story(tmp_path)
    return read_landing(tmp_path).events


def test_person_months_by_hand(story: pd.DataFrame) -> None:
    people = rev.person_months(story)
    assert list(people.columns) == rev.PERSON_MONTH_COLUMNS
    mrr = {u: part.set_index("month")["mrr_cents"].tolist() for u, part in people.groupby("user_id")}
    assert mrr == {
        "ann": [2500] * 8,
        "ret": [1000, 1000, 1000, 0, 0, 1500, 1500, 1500],
        "updown": [2000, 3000, 3000, 3000, 3000, 2500, 2500, 2500],
        "tie": [4000] * 7,  # from Feb: the later loaded of two equal timestamps wins
        "invol": [3000, 3000, 3000, 0, 0, 0, 0, 0],
        "blip": [0, 0, 0, 700, 700, 700],  # from Mar: the March subscription never reached a month end
        "dunning": [1200] * 7,
    }
    moves = {u: part["movement"].tolist() for u, part in people.groupby("user_id")}
    assert moves["ret"] == ["new", "none", "none", "churned", "none", "reactivation", "none", "none"]
    assert moves["blip"] == ["none", "none", "none", "new", "none", "none"]
    assert moves["updown"] == ["new", "expansion", "none", "none", "none", "contraction", "none", "none"]
    assert moves["dunning"] == ["new"] + ["none"] * 6
    involuntary = people[people["is_involuntary"]]
    assert involuntary[["user_id", "month", "movement_cents"]].values.tolist() == [["invol", date(2024, 4, 1), 3000]]
    first_paid = people.drop_duplicates("user_id").set_index("user_id")["first_paid_month"].to_dict()
    assert first_paid == {"ann": MONTHS[0], "ret": MONTHS[0], "updown": MONTHS[0], "invol": MONTHS[0],
                          "tie": MONTHS[1], "dunning": MONTHS[1], "blip": MONTHS[5]}


def test_mrr_monthly_by_hand(story: pd.DataFrame) -> None:
    got = rev.mrr_monthly(story)
    assert list(got.columns) == rev.MRR_MONTHLY_COLUMNS
    assert got["month"].tolist() == MONTHS
    expected = {
        "mrr": money("85", "147", "147", "107", "107", "124", "124", "124"),
        "arr": money("1020", "1764", "1764", "1284", "1284", "1488", "1488", "1488"),
        "customers": [4, 6, 6, 4, 4, 6, 6, 6],
        "customers_start": [0, 4, 6, 6, 4, 4, 6, 6],
        "new_mrr": money("85", "52", "0", "0", "0", "7", "0", "0"),
        "new_customers": [4, 2, 0, 0, 0, 1, 0, 0],
        "reactivation_mrr": money("0", "0", "0", "0", "0", "15", "0", "0"),
        "reactivated_customers": [0, 0, 0, 0, 0, 1, 0, 0],
        "expansion_mrr": money("0", "10", "0", "0", "0", "0", "0", "0"),
        "contraction_mrr": money("0", "0", "0", "0", "0", "5", "0", "0"),
        "churned_mrr": money("0", "0", "0", "40", "0", "0", "0", "0"),
        "churned_customers": [0, 0, 0, 2, 0, 0, 0, 0],
        "churned_mrr_involuntary": money("0", "0", "0", "30", "0", "0", "0", "0"),
        "net_new_mrr": money("85", "62", "0", "-40", "0", "17", "0", "0"),
        # churned / customers_start
        "customer_churn_rate": money(None, "0", "0", "0.333333", "0", "0", "0", "0"),
        # (start - contraction - churned) / start: Apr 10,700 / 14,700; Jun 10,200 / 10,700
        "grr": money(None, "1", "1", "0.727891", "1", "0.953271", "1", "1"),
        # (start + expansion - contraction - churned) / start: Feb 9,500 / 8,500
        "nrr": money(None, "1.117647", "1", "0.727891", "1", "0.953271", "1", "1"),
        # (new + reactivation + expansion) / (contraction + churned): Apr 0 / 4,000; Jun 2,200 / 500
        "quick_ratio": money(None, None, None, "0", None, "4.4", None, None),
        # mrr / customers: Jun 124 / 6 = 20.666…
        "arpa": money("21.25", "24.50", "24.50", "26.75", "26.75", "20.67", "20.67", "20.67"),
        # arpa / c, c = Σ churned / Σ customers_start over m-5..m: Apr 26.75 / (2/16); May 26.75 / (2/20);
        # Jun (124/6) / (2/24) = 248; Jul (124/6) / (2/30) = 310; Aug (Mar..Aug) (124/6) / (2/32) = 330.666…
        "ltv": money(None, None, None, "214.00", "267.50", "248.00", "310.00", "330.67"),
    }
    for column, values in expected.items():
        assert got[column].tolist() == values, column


def test_revenue_cohorts_by_hand(story: pd.DataFrame) -> None:
    got = rev.revenue_retention_cohorts(story)
    assert list(got.columns) == rev.COHORT_COLUMNS
    jan = got[got["cohort_month"] == MONTHS[0]]
    assert jan["months_since_first_paid"].tolist() == list(range(8))
    assert set(jan["cohort_customers"]) == {4} and set(jan["starting_mrr"]) == {Decimal("85")}
    assert jan["active_customers"].tolist() == [4, 4, 4, 2, 2, 3, 3, 3]
    assert jan["mrr"].tolist() == money("85", "95", "95", "55", "55", "65", "65", "65")
    assert jan["logo_retention"].tolist() == money("1", "1", "1", "0.5", "0.5", "0.75", "0.75", "0.75")
    assert jan["revenue_retention"].tolist() == money(
        "1", "1.117647", "1.117647", "0.647059", "0.647059", "0.764706", "0.764706", "0.764706")
    feb = got[got["cohort_month"] == MONTHS[1]]
    assert len(feb) == 7 and set(feb["mrr"]) == {Decimal("52")} and set(feb["revenue_retention"]) == {Decimal(1)}
    jun = got[got["cohort_month"] == MONTHS[5]]
    assert jun[["months_since_first_paid", "cohort_customers", "active_customers"]].values.tolist() == [
        [0, 1, 1], [1, 1, 1], [2, 1, 1]]
    assert set(got["cohort_month"]) == {MONTHS[0], MONTHS[1], MONTHS[5]}  # blip's March never counted


def test_cohort_offset_zero_is_new_mrr(story: pd.DataFrame) -> None:
    cohorts = rev.revenue_retention_cohorts(story)
    mrr = rev.mrr_monthly(story).set_index("month")
    for row in cohorts[cohorts["months_since_first_paid"] == 0].itertuples():
        assert row.mrr == mrr.loc[row.cohort_month, "new_mrr"]


def test_billing_monthly_by_hand(story: pd.DataFrame) -> None:
    got = rev.billing_monthly(story)
    assert list(got.columns) == rev.BILLING_COLUMNS
    assert got["month"].tolist() == MONTHS
    assert got["payments_succeeded"].tolist() == [2, 1, 1, 0, 1, 0, 0, 0]
    assert got["amount_collected"].tolist() == money("310", "10", "0", "0", "12", "0", "0", "0")  # Mar: no number
    assert got["payments_failed"].tolist() == [0, 0, 0, 1, 1, 0, 0, 0]
    assert got["amount_failed"].tolist() == money("0", "0", "0", "30", "12", "0", "0", "0")
    assert got["payment_failure_rate"].tolist() == money("0", "0", "0", "1", "0.5", None, None, None)


def test_equal_timestamps_use_load_order_across_files(tmp_path: Path) -> None:
    """The tie is decided by load order even when the two events sit in different files."""
    (tmp_path / "a.jsonl").write_text(
        '{"message_id": "m2", "type": "track", "event": "subscription_started", "user_id": "u",'
        ' "timestamp": "2024-01-01T00:00:00Z", "properties": {"mrr_cents": 100}}\n')
    (tmp_path / "b.jsonl").write_text(
        '{"message_id": "m1", "type": "track", "event": "subscription_changed", "user_id": "u",'
        ' "timestamp": "2024-01-01T00:00:00Z", "properties": {"mrr_cents": 300}}\n')
    assert rev.mrr_monthly(read_landing(tmp_path).events)["mrr"].tolist() == [Decimal("3")]


def test_empty_and_revenue_free_landings(tmp_path: Path) -> None:
    empty = read_landing(tmp_path).events
    for function, columns in [(rev.mrr_monthly, rev.MRR_MONTHLY_COLUMNS),
                              (rev.revenue_retention_cohorts, rev.COHORT_COLUMNS),
                              (rev.billing_monthly, rev.BILLING_COLUMNS),
                              (rev.person_months, rev.PERSON_MONTH_COLUMNS)]:
        frame = function(empty)
        assert frame.empty and list(frame.columns) == columns
    (tmp_path / "e.jsonl").write_text('{"message_id": "x", "type": "track", "event": "page_viewed",'
                                      ' "user_id": "u", "timestamp": "2024-01-01T00:00:00Z"}\n')
    assert rev.mrr_monthly(read_landing(tmp_path).events).empty

