"""Independent pandas reference for the analytics metrics (DESIGN.md Contracts 1 and 2).

Everything is computed straight from the landing files; nothing here reads the database, so integration
tests can compare the SQL warehouse with it. Conventions of the outputs:

- days and months are `datetime.date` objects (a month is its first day), all in UTC;
- counts are int64, rates are float64 (NaN when the denominator is 0);
- money is `decimal.Decimal` in currency units with two decimal places, computed from integer cents
  (psycopg returns `numeric` as Decimal too, so the two compare exactly).
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

TIMESTAMP_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.(\d{1,6}))?"
    r"(Z|([+-])(0\d|1[0-4]):([0-5]\d))",
    re.ASCII,  # \d must mean 0-9 only, not every Unicode digit
)
EVENT_TYPES = frozenset({"track", "identify", "page", "screen", "group", "alias"})
ACTIVITY_TYPES = frozenset({"track", "page", "screen"})
SUBSCRIPTION_EVENTS = frozenset({"subscription_started", "subscription_changed", "subscription_cancelled"})
MAX_KEY_BYTES = 1000  # an id or key the warehouse indexes: at most this many bytes of UTF-8
MRR_CENTS_RE = re.compile(r"\d{1,15}", re.ASCII)  # an integer of at most 15 digits, as numeric prints it
LANDING_SUFFIXES = (".jsonl", ".ndjson", ".json")
UTF8_BOM = b"\xef\xbb\xbf"

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND
MIN_EPOCH_US = (date.min.toordinal() - EPOCH_ORDINAL) * US_PER_DAY
MAX_EPOCH_US = (date.max.toordinal() + 1 - EPOCH_ORDINAL) * US_PER_DAY - 1

EVENT_COLUMNS = [
    "message_id", "type", "event", "user_id", "sent_user_id", "anonymous_id", "group_id", "ts", "date",
    "properties", "context", "load_order",
]
QUARANTINE_COLUMNS = ["file", "line", "reason"]
DAU_COLUMNS = ["activity_date", "dau", "wau", "mau", "stickiness"]
RETENTION_COLUMNS = ["cohort_month", "months_since_signup", "cohort_size", "retained_users", "retention_rate"]
ADOPTION_COLUMNS = ["feature", "total_uses", "unique_users", "adoption_rate"]
MRR_COLUMNS = [
    "month",
    "mrr",
    "arr",
    "customers",
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "reactivation_mrr",
]


@dataclass(frozen=True)
class LandingResult:
    """Everything read from a landing directory: valid events, quarantine and counts."""

    events: pd.DataFrame  # valid, deduplicated; EVENT_COLUMNS, in load order; user_id = the person (None: nobody)
    quarantined: pd.DataFrame  # QUARANTINE_COLUMNS: file path relative to the landing dir, line number, reason
    duplicates: int  # valid lines dropped because an earlier valid line had the same message_id
    lines: int  # every non-blank line read; lines == len(events) + len(quarantined) + duplicates
    links: dict[str, str]  # the winning identity links: id -> user id


class ValidEvent(NamedTuple):
    """The fields of one line that passed every validity rule."""

    message_id: str
    type: str
    event: str | None  # track: its event; page/screen: page_viewed/screen_viewed; else None
    user_id: str | None  # as sent
    anonymous_id: str | None
    previous_id: str | None  # alias only
    group_id: str | None  # group only
    epoch_us: int  # UTC instant, microseconds since 1970-01-01T00:00:00Z
    properties: dict[str, Any]  # {} when absent or not an object
    context: dict[str, Any]  # {} when absent or not an object


# ---------------------------------------------------------------------------------------------------
# Reading and validating landing files
# ---------------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    """Refuse NaN / Infinity / -Infinity, which Python accepts but JSON does not."""
    raise ValueError(f"not JSON: {name}")


JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
# numbers as written (Decimal keeps 1e2 apart from 100.0), for a member read as text
EXACT_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=Decimal)


def _is_nonempty_str(value: Any) -> bool:
    """True for a str with at least one character."""
    return isinstance(value, str) and value != ""


def _is_json_integer(value: Any) -> bool:
    """True for a JSON integer (a Python int that is not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _clean(value: Any) -> Any:
    """NUL characters replaced by U+FFFD in every string (keys included); ValueError on a lone surrogate."""
    if isinstance(value, str):
        if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
            raise ValueError("lone surrogate")
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {_clean(key): _clean(item) for key, item in value.items()}
    return value


def _field(obj: dict[str, Any], snake: str, camel: str) -> Any:
    """A field in either spelling; camelCase wins when both are present (a JSON null counts as absent)."""
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _id(obj: dict[str, Any], snake: str, camel: str) -> str | None:
    """An id field when it is a non-empty string, else None."""
    value = _field(obj, snake, camel)
    return value if _is_nonempty_str(value) else None


def _number_text(value: int | Decimal) -> str:
    """A JSON number as PostgreSQL's numeric prints it: exponent expanded, scale kept, no negative zero."""
    if isinstance(value, int):
        return str(value)
    return format(abs(value) if value == 0 else value, "f")


def _as_text(value: Any) -> str | None:
    """A JSON member read as text, as jsonb's `->>` gives it (None for null); numbers must come from EXACT_DECODER."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return _number_text(value)
    if isinstance(value, list):
        return "[" + ", ".join("null" if item is None else _as_json(item) for item in value) + "]"
    # jsonb keeps one member per key (the last) and orders keys by length in bytes, then bytewise
    keys = sorted(value, key=lambda key: (len(key.encode()), key.encode()))
    return "{" + ", ".join(f"{_as_json(key)}: {_as_json(value[key])}" for key in keys) + "}"


def _as_json(value: Any) -> str:
    """A JSON value as jsonb prints it inside an array or object."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return "null" if value is None else str(_as_text(value))


def _too_long(value: Any) -> bool:
    """True when a member, as text, is longer than MAX_KEY_BYTES in UTF-8."""
    text = _as_text(value)
    return text is not None and len(text.encode()) > MAX_KEY_BYTES


def _indexed_keys(obj: dict[str, Any], event_type: str, event: str | None) -> list[Any]:
    """The members of a valid line that the warehouse stores in an index (as sent, before reading them as text)."""
    properties = obj.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    context = obj.get("context")
    context = context if isinstance(context, dict) else {}
    keys = [
        _id(obj, "message_id", "messageId"),
        _id(obj, "user_id", "userId"),
        _id(obj, "anonymous_id", "anonymousId"),
        properties.get("document_id"),
        context.get("platform"),
    ]
    if event_type == "alias":
        keys.append(_id(obj, "previous_id", "previousId"))
    if event_type == "group":
        keys.append(_id(obj, "group_id", "groupId"))
    if event == "feature_used":
        keys.append(properties.get("feature"))
    if event in SUBSCRIPTION_EVENTS:
        keys.append(properties.get("plan"))
    if event == "signed_up":
        campaign = context.get("campaign")
        keys += [properties.get("channel"), campaign.get("source") if isinstance(campaign, dict) else None]
    return keys


def parse_timestamp(value: Any) -> int | None:
    """Epoch microseconds (UTC) of a Contract-1 timestamp string, or None if it is not one."""
    if not isinstance(value, str):
        return None
    match = TIMESTAMP_RE.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone, sign, offset_hour, offset_minute = match.groups()
    year, month, day, hour, minute, second = int(year), int(month), int(day), int(hour), int(minute), int(second)
    microsecond = int(fraction.ljust(6, "0")) if fraction else 0
    try:
        datetime(year, month, day, hour, minute, second, microsecond)  # rejects Feb 30, year 0, ...
    except ValueError:
        return None
    local_us = (
        (date(year, month, day).toordinal() - EPOCH_ORDINAL) * US_PER_DAY
        + ((hour * 60 + minute) * 60 + second) * US_PER_SECOND
        + microsecond
    )
    offset_us = 0
    if zone != "Z":
        offset_us = (int(offset_hour) * 60 + int(offset_minute)) * 60 * US_PER_SECOND
        offset_us = offset_us if sign == "+" else -offset_us
    epoch_us = local_us - offset_us
    if not MIN_EPOCH_US <= epoch_us <= MAX_EPOCH_US:
        return None  # the UTC instant falls outside years 1..9999
    return epoch_us


def validate_line(raw: bytes) -> ValidEvent | str:
    """Apply the validity rules in order: the valid event, or the first failing quarantine reason."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid_utf8"
    try:
        obj = _clean(JSON_DECODER.decode(text))
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return "invalid_json"
    if not isinstance(obj, dict):
        return "not_an_object"
    message_id = _id(obj, "message_id", "messageId")
    if message_id is None:
        return "missing_message_id"
    event_type = obj.get("type")
    if event_type is None:
        return "missing_type"
    if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
        return "unknown_type"
    user_id, anonymous_id = _id(obj, "user_id", "userId"), _id(obj, "anonymous_id", "anonymousId")
    if user_id is None and anonymous_id is None:
        return "missing_user_id"
    if obj.get("timestamp") is None:
        return "missing_timestamp"
    epoch_us = parse_timestamp(obj["timestamp"])
    if epoch_us is None:
        return "invalid_timestamp"
    properties = obj.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    context = obj.get("context")
    context = context if isinstance(context, dict) else {}
    event = {"page": "page_viewed", "screen": "screen_viewed"}.get(event_type)
    previous_id = group_id = None
    if event_type == "track":
        event = obj.get("event")
        if not _is_nonempty_str(event):
            return "missing_event"
    if event_type == "alias":
        previous_id = _id(obj, "previous_id", "previousId")
        if user_id is None or previous_id is None:
            return "incomplete_alias"
    if event_type == "group":
        group_id = _id(obj, "group_id", "groupId")
        if group_id is None:
            return "missing_group_id"
    exact: dict[str, Any] | None = None  # the line with its numbers as written, decoded only when needed
    if event_type == "track":
        if event in SUBSCRIPTION_EVENTS:
            mrr_cents = properties.get("mrr_cents")
            if isinstance(mrr_cents, float):  # 1e2 is 100 cents, 100.0 is not an integer
                exact = _clean(EXACT_DECODER.decode(text))
                mrr_cents = exact["properties"]["mrr_cents"]
            if not (_is_json_integer(mrr_cents) or isinstance(mrr_cents, Decimal)):
                return "invalid_mrr_cents"
            if not MRR_CENTS_RE.fullmatch(_number_text(mrr_cents)):
                return "invalid_mrr_cents"
            properties = {**properties, "mrr_cents": int(mrr_cents)}
        if event == "feature_used" and not _is_nonempty_str(properties.get("feature")):
            return "missing_feature"
    keys = _indexed_keys(obj, event_type, event)
    if any(key is not None and not isinstance(key, str) for key in keys):  # a number or more: as written
        keys = _indexed_keys(exact or _clean(EXACT_DECODER.decode(text)), event_type, event)
    if any(_too_long(key) for key in keys):
        return "id_too_long"
    return ValidEvent(message_id, event_type, event, user_id, anonymous_id, previous_id, group_id, epoch_us,
                      properties, context)


def is_landing_name(name: str) -> bool:
    """Contract 1's file names: .jsonl/.ndjson/.json, each optionally + .gz, or a bare .gz; not .x or _x."""
    if name.startswith((".", "_")):
        return False
    return name.endswith(".gz") or name.endswith(LANDING_SUFFIXES)


def landing_files(landing_dir: str | Path) -> list[tuple[str, Path]]:
    """(relative posix path, path) of every landing file at any depth, in load order (by relative path)."""
    directory = Path(landing_dir)
    if not directory.is_dir():
        raise FileNotFoundError(f"landing directory not found: {directory}")
    found = []
    for path in directory.rglob("*"):
        parts = path.relative_to(directory).parts
        if path.is_file() and is_landing_name(path.name) and not any(p.startswith((".", "_")) for p in parts):
            found.append(("/".join(parts), path))
    return sorted(found)


def file_lines(path: Path) -> list[tuple[int, bytes]]:
    """(line number, bytes) of a file's non-blank lines; a leading BOM and the \\r of \\r\\n are dropped."""
    data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    if not data:
        return []
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines = lines[:-1]
    out = []
    for number, line in enumerate(lines, start=1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if line.strip():
            out.append((number, line))
    return out


def resolve(links: dict[str, str], node: str) -> str:
    """Follow the links from an id to an id without one."""
    while node in links:
        node = links[node]
    return node


def identity_links(valid: list[ValidEvent], load_order: list[int]) -> dict[str, str]:
    """The winning links: candidates by (timestamp, load order, anonymous before alias); first per id, no cycles."""
    candidates = []
    for event, order in zip(valid, load_order, strict=True):
        if event.anonymous_id is not None and event.user_id is not None:
            candidates.append((event.epoch_us, order, 0, event.anonymous_id, event.user_id))
        if event.type == "alias":
            candidates.append((event.epoch_us, order, 1, event.previous_id, event.user_id))
    links: dict[str, str] = {}
    for _, _, _, source, target in sorted(candidates):
        if source in links or resolve(links, target) == source:
            continue
        links[source] = target
    return links


def person_of(event: ValidEvent, links: dict[str, str], user_ids: set[str]) -> str | None:
    """resolve(user id); else resolve(anonymous id) when that is a user id some valid event used; else nobody."""
    if event.user_id is not None:
        return resolve(links, event.user_id)
    end = resolve(links, event.anonymous_id)
    return end if end in user_ids else None


def _events_frame(valid: list[ValidEvent], load_order: list[int], persons: list[str | None]) -> pd.DataFrame:
    """Build the events DataFrame from validated, deduplicated events."""
    epoch_us = np.array([event.epoch_us for event in valid], dtype=np.int64)

    def column(values: list[Any]) -> pd.Series:
        return pd.Series(values, dtype=object)

    return pd.DataFrame(
        {
            "message_id": column([event.message_id for event in valid]),
            "type": column([event.type for event in valid]),
            "event": column([event.event for event in valid]),
            "user_id": column(persons),
            "sent_user_id": column([event.user_id for event in valid]),
            "anonymous_id": column([event.anonymous_id for event in valid]),
            "group_id": column([event.group_id for event in valid]),
            "ts": pd.Series(pd.to_datetime(epoch_us, unit="us", utc=True)),
            "date": column([date.fromordinal(EPOCH_ORDINAL + us // US_PER_DAY) for us in epoch_us.tolist()]),
            "properties": column([event.properties for event in valid]),
            "context": column([event.context for event in valid]),
            "load_order": pd.Series(load_order, dtype=np.int64),
        },
        columns=EVENT_COLUMNS,
    )


def read_landing(landing_dir: str | Path) -> LandingResult:
    """Read, validate, deduplicate and attribute every landing file of a directory, in load order."""
    valid: list[ValidEvent] = []
    load_order: list[int] = []
    quarantined: list[tuple[str, int, str]] = []
    seen: set[str] = set()
    duplicates = 0
    position = 0  # global 0-based position of a non-blank line in load order
    for relative, path in landing_files(landing_dir):
        for line_number, raw in file_lines(path):
            result = validate_line(raw)
            if isinstance(result, str):
                quarantined.append((relative, line_number, result))
            elif result.message_id in seen:
                duplicates += 1
            else:
                seen.add(result.message_id)
                valid.append(result)
                load_order.append(position)
            position += 1
    links = identity_links(valid, load_order)
    user_ids = {event.user_id for event in valid if event.user_id is not None}
    persons = [person_of(event, links, user_ids) for event in valid]
    quarantine = pd.DataFrame(quarantined, columns=QUARANTINE_COLUMNS).astype(
        {"file": object, "line": np.int64, "reason": object}
    )
    return LandingResult(_events_frame(valid, load_order, persons), quarantine, duplicates, position, links)


# ---------------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------------


def _track(events: pd.DataFrame) -> pd.DataFrame:
    """The track events of persons (events of nobody count toward no user metric)."""
    return events[(events["type"] == "track") & events["user_id"].notna()]


def _activity(events: pd.DataFrame) -> pd.DataFrame:
    """Activity: track, page and screen events attributed to a person."""
    return events[events["type"].isin(ACTIVITY_TYPES) & events["user_id"].notna()]


def _day_number(days: pd.Series) -> pd.Series:
    """Proleptic Gregorian ordinal of each date (consecutive days differ by 1)."""
    return days.map(date.toordinal).astype(np.int64)


def _month_number(days: pd.Series) -> pd.Series:
    """Months since year 0 of each date (consecutive months differ by 1)."""
    return days.map(lambda day: day.year * 12 + day.month - 1).astype(np.int64)


def _month_start(month_number: int) -> date:
    """First day of the month with this month number."""
    return date(month_number // 12, month_number % 12 + 1, 1)


def _money(cents: int) -> Decimal:
    """Exact currency amount of an integer number of cents."""
    return Decimal(f"{int(cents)}E-2")


def rolling_distinct_users(user_days: pd.DataFrame, first_day: int, n_days: int, window: int) -> np.ndarray:
    """Per day first_day..first_day+n_days-1: distinct users active on some day in [d-window+1, d].

    `user_days` has one row per (user_id, day) with day a day number. A user is counted on day d iff their
    latest active day a <= d satisfies d - a < window, i.e. each active day a covers [a, min(a+window,
    next active day of that user)); these spans do not overlap, so summing them counts users once.
    """
    ordered = user_days.sort_values(["user_id", "day"])
    start = ordered["day"].to_numpy(dtype=np.int64)
    next_active = ordered.groupby("user_id")["day"].shift(-1, fill_value=np.iinfo(np.int64).max)
    stop = np.minimum(start + window, next_active.to_numpy(dtype=np.int64))
    change = np.zeros(n_days + 1, dtype=np.int64)
    np.add.at(change, start - first_day, 1)
    np.add.at(change, np.minimum(stop - first_day, n_days), -1)
    return np.cumsum(change)[:n_days]


def daily_active_users(events: pd.DataFrame) -> pd.DataFrame:
    """DAU/WAU/MAU/stickiness for every day from the first to the last day with activity."""
    active = _activity(events)
    if active.empty:
        return pd.DataFrame(columns=DAU_COLUMNS)
    user_days = pd.DataFrame({"user_id": active["user_id"], "day": _day_number(active["date"])}).drop_duplicates()
    first_day, last_day = int(user_days["day"].min()), int(user_days["day"].max())
    n_days = last_day - first_day + 1
    dau = user_days.groupby("day").size().reindex(range(first_day, last_day + 1), fill_value=0).to_numpy()
    wau = rolling_distinct_users(user_days, first_day, n_days, 7)
    mau = rolling_distinct_users(user_days, first_day, n_days, 30)
    with np.errstate(divide="ignore", invalid="ignore"):
        stickiness = np.where(mau > 0, dau / np.where(mau > 0, mau, 1), np.nan)
    return pd.DataFrame(
        {
            "activity_date": pd.Series([date.fromordinal(day) for day in range(first_day, last_day + 1)], dtype=object),
            "dau": dau.astype(np.int64),
            "wau": wau,
            "mau": mau,
            "stickiness": stickiness.astype(np.float64),
        },
        columns=DAU_COLUMNS,
    )


def signup_dates(events: pd.DataFrame) -> pd.Series:
    """Per person: the UTC date of their earliest valid `signed_up` track event."""
    track = _track(events)
    signups = track[track["event"] == "signed_up"]
    earliest = signups.sort_values(["ts", "load_order"]).drop_duplicates("user_id", keep="first")
    return earliest.set_index("user_id")["date"].rename("signup_date")


def retention_cohorts(events: pd.DataFrame) -> pd.DataFrame:
    """Monthly signup cohorts x months since signup, up to the month of the latest activity."""
    activity = _activity(events)
    signup = signup_dates(events)
    if activity.empty or signup.empty:
        return pd.DataFrame(columns=RETENTION_COLUMNS)
    members = pd.DataFrame({"user_id": signup.index, "cohort": _month_number(signup).to_numpy()})
    active = pd.DataFrame(
        {"user_id": activity["user_id"], "month": _month_number(activity["date"])}
    ).drop_duplicates()
    latest_month = int(active["month"].max())

    joined = active.merge(members, on="user_id")
    joined["offset"] = joined["month"] - joined["cohort"]
    retained = joined[joined["offset"] >= 0].groupby(["cohort", "offset"])["user_id"].nunique()
    sizes = members.groupby("cohort").size()

    rows = []
    for cohort, size in sizes.items():
        for offset in range(latest_month - int(cohort) + 1):
            kept = int(retained.get((cohort, offset), 0))
            rows.append((_month_start(int(cohort)), offset, int(size), kept, kept / size))
    return pd.DataFrame(rows, columns=RETENTION_COLUMNS).astype(
        {
            "months_since_signup": np.int64,
            "cohort_size": np.int64,
            "retained_users": np.int64,
            "retention_rate": np.float64,
        }
    )


def feature_adoption(events: pd.DataFrame) -> pd.DataFrame:
    """Per feature: uses by persons, distinct persons and share of all persons ever active."""
    track = _track(events)
    used = track[track["event"] == "feature_used"]
    if used.empty:
        return pd.DataFrame(columns=ADOPTION_COLUMNS)
    uses = pd.DataFrame({"feature": used["properties"].map(lambda props: props["feature"]), "user_id": used["user_id"]})
    result = uses.groupby("feature").agg(total_uses=("user_id", "size"), unique_users=("user_id", "nunique"))
    result["adoption_rate"] = result["unique_users"] / _activity(events)["user_id"].nunique()
    return result.reset_index().astype(
        {"feature": object, "total_uses": np.int64, "unique_users": np.int64, "adoption_rate": np.float64}
    )[ADOPTION_COLUMNS]


def month_end_mrr_cents(events: pd.DataFrame) -> pd.DataFrame:
    """Users x months (first-day dates): each user's MRR in cents at the end of each month of the range.

    The month range runs from the month of the first valid subscription event to the month of the latest
    activity. Only events attributed to a person count. A cell is the mrr_cents of the person's latest
    subscription event with a timestamp before the next month starts (equal timestamps: later in load order
    wins), or 0 if none. Values are Python ints (object dtype) so sums stay exact whatever their size.
    """
    track = _track(events)
    subs = track[track["event"].isin(SUBSCRIPTION_EVENTS)]
    if subs.empty:
        return pd.DataFrame(dtype=object)
    subs = pd.DataFrame(
        {
            "user_id": subs["user_id"],
            "month": _month_number(subs["date"]),
            "ts": subs["ts"],
            "load_order": subs["load_order"],
            "mrr_cents": subs["properties"].map(lambda props: props["mrr_cents"]).astype(object),
        }
    ).sort_values(["ts", "load_order"])
    first_month = int(subs["month"].min())
    last_month = int(_month_number(_activity(events)["date"]).max())
    last_in_month = subs.drop_duplicates(["user_id", "month"], keep="last")
    table = last_in_month.pivot(index="user_id", columns="month", values="mrr_cents")
    table = table.reindex(columns=range(first_month, last_month + 1)).astype(object)
    table = table.ffill(axis=1).fillna(0).astype(object)
    table.columns = [_month_start(int(month)) for month in table.columns]
    return table


def mrr_monthly(events: pd.DataFrame) -> pd.DataFrame:
    """MRR, ARR, customers and MRR movements for every month of the mrr_monthly range."""
    table = month_end_mrr_cents(events)
    if table.empty:
        return pd.DataFrame(columns=MRR_COLUMNS)
    current = table.to_numpy(dtype=object)
    previous = np.hstack([np.zeros((len(table), 1), dtype=np.int64).astype(object), current[:, :-1]])
    was_positive = (previous > 0).astype(bool)
    is_positive = (current > 0).astype(bool)
    ever_positive_before = np.logical_or.accumulate(was_positive, axis=1)
    starts = ~was_positive & is_positive
    zero = np.zeros_like(current)
    movements = {
        "new_mrr": np.where(starts & ~ever_positive_before, current, zero),
        "reactivation_mrr": np.where(starts & ever_positive_before, current, zero),
        "expansion_mrr": np.where(was_positive & (current > previous).astype(bool), current - previous, zero),
        "contraction_mrr": np.where(is_positive & (current < previous).astype(bool), previous - current, zero),
        "churned_mrr": np.where(was_positive & ~is_positive, previous, zero),
    }
    totals = current.sum(axis=0)
    result = pd.DataFrame(
        {
            "month": pd.Series(list(table.columns), dtype=object),
            "mrr": pd.Series([_money(cents) for cents in totals], dtype=object),
            "arr": pd.Series([_money(12 * cents) for cents in totals], dtype=object),
            "customers": is_positive.sum(axis=0).astype(np.int64),
        }
    )
    for name, amounts in movements.items():
        result[name] = pd.Series([_money(cents) for cents in amounts.sum(axis=0)], dtype=object)
    return result[MRR_COLUMNS]
