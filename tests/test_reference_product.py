"""Hand-computed checks of the product analytics reference (tests/reference_product.py)."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

import product_fixtures as fx
import reference_product as rp
from reference_metrics import read_landing, retention_cohorts

FUNNELS_YML = Path(__file__).parents[1] / "sql" / "funnels.yml"
NAN = float("nan")


def same(got: list, want: list) -> bool:
    """Equal lists where NaN equals NaN and floats compare to 1e-9."""
    if len(got) != len(want):
        return False
    for g, w in zip(got, want, strict=True):
        if isinstance(w, float):
            if not ((math.isnan(w) and math.isnan(g)) or abs(g - w) < 1e-9):
                return False
        elif g != w:
            return False
    return True


def rows(frame: pd.DataFrame, columns: list[str]) -> list[list]:
    """The frame's rows as lists of the given columns."""
    return [list(row) for row in frame[columns].itertuples(index=False, name=None)]


@pytest.fixture
def funnel_events(tmp_path: Path) -> pd.DataFrame:
    """The funnel story's valid events."""
    fx.funnel_story(tmp_path)
    return read_landing(tmp_path).events


def test_activation_funnel_by_hand(funnel_events: pd.DataFrame) -> None:
    funnels = rp.read_funnels(FUNNELS_YML)
    got = rp.funnel_conversion(funnel_events, funnels)
    activation = got[got["funnel"] == "activation"]
    columns = ["cohort_month", "step", "entered_users", "eligible_users", "in_progress_users", "reached_users",
               "conversion_rate", "step_conversion_rate", "median_seconds_to_step"]
    want = [
        # March: p1 (step 2 before step 1), p2 (step 2 exactly at t1 + 14 d), p3 (one second late), p4 (entered
        # twice: the first entry counts), p5 (ties at one instant count)
        [date(2024, 3, 1), 1, 5, 5, 0, 5, 1.0, NAN, 0.0],
        [date(2024, 3, 1), 2, 5, 5, 0, 2, 0.4, 0.4, (14 * 86400 + 0) / 2],
        [date(2024, 3, 1), 3, 5, 5, 0, 1, 0.2, 0.5, 0.0],
        # April: p8 signs up after the pricing page and does nothing else
        [date(2024, 4, 1), 1, 1, 1, 0, 1, 1.0, NAN, 0.0],
        [date(2024, 4, 1), 2, 1, 1, 0, 0, 0.0, 0.0, NAN],
        [date(2024, 4, 1), 3, 1, 1, 0, 0, 0.0, NAN, NAN],
        # May: p7 converts in 3 hours; p6's window ends after data_through (2024-05-16): in progress
        [date(2024, 5, 1), 1, 2, 1, 1, 1, 1.0, NAN, 0.0],
        [date(2024, 5, 1), 2, 2, 1, 1, 1, 1.0, 1.0, 7200.0],
        [date(2024, 5, 1), 3, 2, 1, 1, 1, 1.0, 1.0, 10800.0],
    ]
    for got_row, want_row in zip(rows(activation, columns), want, strict=True):
        assert same(got_row, want_row), (got_row, want_row)
    assert len(activation) == len(want)


def test_trial_and_pricing_funnels_by_hand(funnel_events: pd.DataFrame) -> None:
    got = rp.funnel_conversion(funnel_events, rp.read_funnels(FUNNELS_YML))
    columns = ["funnel", "cohort_month", "step", "entered_users", "eligible_users", "reached_users",
               "step_conversion_rate", "median_seconds_to_step"]
    trial = rows(got[got["funnel"] == "trial_to_paid"], columns)
    # p2 and p3 sign up with plan = trial (p1, p4, p5 have no plan); p2 pays after 19 days
    assert same(trial[0], ["trial_to_paid", date(2024, 3, 1), 1, 2, 2, 2, NAN, 0.0])
    assert same(trial[1], ["trial_to_paid", date(2024, 3, 1), 2, 2, 2, 1, 0.5, 19 * 86400.0])
    assert len(trial) == 2
    pricing = rows(got[got["funnel"] == "pricing_to_signup"], columns)
    assert same(pricing[1], ["pricing_to_signup", date(2024, 4, 1), 2, 1, 1, 1, 1.0, 1800.0])
    assert len(pricing) == 2


def test_funnel_with_nobody_entering_has_no_rows(funnel_events: pd.DataFrame) -> None:
    never = {"name": "never", "window_days": 3, "steps": [{"event": "no_such_event"}, {"event": "signed_up"}]}
    assert rp.funnel_conversion(funnel_events, [never]).empty


def test_sessions_by_hand(tmp_path: Path) -> None:
    fx.session_story(tmp_path)
    events = read_landing(tmp_path).events
    got = rp.sessions(events).sort_values(["user_id", "started_at"])
    assert rows(got, ["user_id", "session_date", "duration_seconds", "events"]) == [
        ["s1", date(2024, 3, 1), 3000.0, 3],  # 23:50 → 00:10 → 00:40 (a gap of exactly 30 minutes continues)
        ["s1", date(2024, 3, 2), 0.0, 1],  # 30 minutes and 1 second later: a new session
        ["s2", date(2024, 3, 2), 0.0, 1],  # the identify 10 minutes later is not activity
        ["s3", date(2024, 3, 2), 600.0, 2],
    ]
    daily = rp.daily_sessions(events)
    assert same(rows(daily, rp.DAILY_SESSION_COLUMNS)[0], [date(2024, 3, 1), 1, 1, 3000.0, 3000.0, 3.0])
    assert same(rows(daily, rp.DAILY_SESSION_COLUMNS)[1], [date(2024, 3, 2), 3, 3, 200.0, 0.0, 4 / 3])
    assert len(daily) == 2


def test_sessions_count_page_and_screen_calls_but_not_nobody() -> None:
    ts = pd.to_datetime(["2024-03-01T10:00:00Z", "2024-03-01T10:20:00Z", "2024-03-01T10:45:00Z",
                         "2024-03-01T10:50:00Z"], utc=True)
    events = pd.DataFrame({
        "message_id": ["a", "b", "c", "d"], "type": ["page", "screen", "track", "track"],
        "event": ["page_viewed", "screen_viewed", "x", "x"], "user_id": ["u", "u", None, "u"], "ts": ts,
        "date": [t.date() for t in ts], "properties": [{}, {}, {}, {}], "load_order": [0, 1, 2, 3],
    })
    assert rows(rp.sessions(events), ["user_id", "duration_seconds", "events"]) == [["u", 3000.0, 3]]


def test_lifecycle_around_a_quiet_week(tmp_path: Path) -> None:
    fx.lifecycle_story(tmp_path)
    got = rp.user_lifecycle(read_landing(tmp_path).events)
    columns = ["period_start", "active_users", "new_users", "returning_users", "resurrecting_users",
               "dormant_users", "is_complete"]
    assert rows(got[got["period"] == "week"], columns) == [
        [date(2024, 1, 1), 2, 2, 0, 0, 0, True],  # l1 (Monday), l2 (Sunday) are new
        [date(2024, 1, 8), 0, 0, 0, 0, 2, True],  # the quiet week: both dormant
        [date(2024, 1, 15), 2, 1, 0, 1, 0, True],  # l1 resurrects, l3 is new
        [date(2024, 1, 22), 2, 0, 1, 1, 1, False],  # l3 returns, l2 resurrects, l1 dormant; week runs to Jan 28
    ]
    assert rows(got[got["period"] == "month"], columns) == [[date(2024, 1, 1), 3, 3, 0, 0, 0, False]]
    days = got[got["period"] == "day"].set_index("period_start")
    assert len(days) == 23 and days["is_complete"].all()
    assert days.loc[date(2024, 1, 10), columns[1:6]].tolist() == [0, 0, 0, 0, 0]
    assert days.loc[date(2024, 1, 16), columns[1:6]].tolist() == [1, 1, 0, 0, 1]  # l3 new, l1 dormant
    assert days.loc[date(2024, 1, 23), columns[1:6]].tolist() == [1, 0, 0, 1, 1]  # l3 resurrects, l2 dormant
    assert days["new_users"].sum() == 3


def test_acquisition_by_hand(funnel_events: pd.DataFrame) -> None:
    got = rp.acquisition_monthly(funnel_events, rp.read_funnels(FUNNELS_YML))
    columns = ["signup_month", "channel", "signups", "activated_users", "paid_users", "activation_rate",
               "paid_conversion_rate"]
    march, april, may = date(2024, 3, 1), date(2024, 4, 1), date(2024, 5, 1)
    want = [
        [march, "organic", 2, 0, 1, 0.0, 0.5],  # p1, p2 (pays within 30 days)
        [march, "paid_search", 1, 0, 0, 0.0, 0.0],  # p4: the earliest signed_up's channel
        [march, "referral", 1, 1, 0, 1.0, 0.0],  # p5 activates
        [march, "unknown", 1, 0, 0, 0.0, 0.0],  # p3 has no channel
        [april, "organic", 1, 0, 0, 0.0, 0.0],
        [april, "paid_search", 0, 0, 0, NAN, NAN],
        [april, "referral", 0, 0, 0, NAN, NAN],
        [april, "unknown", 0, 0, 0, NAN, NAN],
        [may, "organic", 0, 0, 0, NAN, NAN],
        [may, "paid_search", 0, 0, 0, NAN, NAN],
        [may, "referral", 1, 1, 0, 1.0, 0.0],
        [may, "unknown", 1, 0, 0, 0.0, 0.0],
    ]
    got_rows = rows(got.sort_values(["signup_month", "channel"]), columns)
    assert len(got_rows) == len(want)
    for got_row, want_row in zip(got_rows, want, strict=True):
        assert same(got_row, want_row), (got_row, want_row)


def test_channel_falls_back_to_the_campaign_source() -> None:
    assert rp._channel({"channel": "partner"}, {"campaign": {"source": "news"}}) == "partner"
    assert rp._channel({}, {"campaign": {"source": "news"}}) == "news"
    assert rp._channel({}, None) == "unknown"


@pytest.mark.parametrize(("latest", "february_complete"), [("2024-02-29", True), ("2024-02-28", False)])
def test_retention_month_is_complete_on_its_last_day(tmp_path: Path, latest: str, february_complete: bool) -> None:
    fx.write(tmp_path, "e.jsonl", [
        fx.event("a", "u", "2024-01-20T10:00:00Z", "signed_up"),
        fx.event("b", "u", f"{latest}T10:00:00Z", "page_viewed"),
    ])
    events = read_landing(tmp_path).events
    cohorts = retention_cohorts(events)
    assert cohorts["months_since_signup"].tolist() == [0, 1]
    assert rp.retention_is_complete(cohorts, events) == [True, february_complete]


def test_empty_input_gives_empty_frames(tmp_path: Path) -> None:
    events = read_landing(tmp_path).events
    funnels = rp.read_funnels(FUNNELS_YML)
    assert rp.user_lifecycle(events).empty and rp.daily_sessions(events).empty
    assert rp.funnel_conversion(events, funnels).empty and rp.acquisition_monthly(events, funnels).empty
