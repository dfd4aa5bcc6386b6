"""What Contract 1's timestamp check costs per value, and what cheaper forms of it would cost: backend CPU from /proc.

Usage: python scripts/timestamp_check_costs.py DATABASE [--repeat 3]

Takes the `timestamp` and `receivedAt` / `received_at` texts of the database's latest loaded file (raw.events; e.g.
the 1 M-line day of pass 4's `p4_raw`) into a temp table, then times, serially (no parallel workers), one
`select count(*) … where <expression>` per expression, the expressions alternated, and prints the median backend
CPU per million values with the part above a bare scan. Expressions: the check as installed
(`staging.is_valid_timestamptz`), the contract's definition as migration 0001 wrote it (the regular expression and
`pg_input_is_valid`), the building blocks any exact form needs (the parse, a cast, `to_char`, a `like`), and a
candidate exact form (a read-back through `to_json` instead of `to_char`). Each candidate's verdicts are also
compared with the 0001 definition's on every value (the count of differences must be 0).
"""

from __future__ import annotations

import argparse
import statistics

import psycopg
from proc_cpu import proc_cpu

from saas_analytics import warehouse
from saas_analytics.config import get_settings

# The contract's format (migrations 0001 and 0011).
ISO = r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-](0\d|1[0-4]):[0-5]\d)$"

# A candidate: the `…Z` and `…±hh:mm` shapes decided by reading the parsed local time back through to_json (its
# ISO output does not depend on DateStyle); anything else, or a read-back that differs, by the 0001 definition.
CANDIDATE_READ_BACK = f"""
create function pg_temp.read_back(value text) returns boolean
language sql stable parallel safe
return case
    when value is null then null
    when not (
        value like '____-__-__T__:__:__Z'
        or value like '____-__-__T__:__:__._%Z' and length(value) <= 27
        or (
            value like '____-__-__T__:__:__+__:__' or value like '____-__-__T__:__:__-__:__'
            or (value like '____-__-__T__:__:__._%+__:__' or value like '____-__-__T__:__:__._%-__:__')
            and length(value) <= 32
        )
        and substr(value, length(value) - 4, 2) collate "C" between '00' and '14'
        and substr(value, length(value) - 3, 1) collate "C" between '0' and '9'
        and substr(value, length(value) - 1, 1) collate "C" between '0' and '5'
        and right(value, 1) collate "C" between '0' and '9'
    ) then value ~ '{ISO}' and pg_input_is_valid(value, 'timestamptz')
    when not pg_input_is_valid(value, 'timestamptz') then false
    when
        '"' || left(value, 19) || coalesce('.' || nullif(rtrim(substr(left(value, case when value like '%Z' then -1
        else -6 end), 21), '0'), ''), '') || '"' = to_json(value::timestamp)::text
        then true
    else value ~ '{ISO}'
end
"""

EXPRESSIONS = {
    "bare scan": "length(v) >= 0",
    "staging.is_valid_timestamptz (installed)": "staging.is_valid_timestamptz(v)",
    "0001 definition: regex and pg_input_is_valid": f"v ~ '{ISO}' and pg_input_is_valid(v, 'timestamptz')",
    "candidate: read-back through to_json": "pg_temp.read_back(v)",
    "pg_input_is_valid(v, 'timestamptz') alone": "pg_input_is_valid(v, 'timestamptz')",
    "the regular expression alone": f"v ~ '{ISO}'",
    "v::timestamptz (a cast)": "(case when pg_input_is_valid(v, 'timestamptz') then v::timestamptz end) is not null",
    "to_char read-back alone (incl. a cast)": "(case when pg_input_is_valid(v, 'timestamptz') then to_char("
                                              "v::timestamptz at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
                                              " end) is not null",
    "translate(v, digits, '9…') (a shape mask)": "translate(v, '012345678', '999999999') <> ''",
    "v like '____-__-__T__:__:__%Z'": "v like '____-__-__T__:__:__%Z'",
}
CANDIDATES = {"staging.is_valid_timestamptz(v)", "pg_temp.read_back(v)"}


def main() -> None:
    """Time each expression over the day's timestamp values; print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    conninfo = warehouse.server_conninfo(get_settings(), args.database)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        pid = conn.execute("select pg_backend_pid()").fetchone()[0]
        conn.execute("set max_parallel_workers_per_gather = 0")
        conn.execute("create temp table ts (v text)")
        conn.execute(
            "insert into ts select t from raw.events, lateral (values (payload ->> 'timestamp'),"
            " (coalesce(payload ->> 'receivedAt', payload ->> 'received_at'))) as x (t)"
            " where file_id = (select max(file_id) from raw.events) and t is not null")
        n = conn.execute("select count(*) from ts").fetchone()[0]
        conn.execute(CANDIDATE_READ_BACK)
        for expression in CANDIDATES:
            differ = conn.execute(f"select count(*) from ts where ({expression}) is distinct from"
                                  f" (v ~ '{ISO}' and pg_input_is_valid(v, 'timestamptz'))").fetchone()[0]
            print(f"{expression}: {differ} of {n:,} verdicts differ from the 0001 definition's")
        cpu: dict[str, list[float]] = {label: [] for label in EXPRESSIONS}
        for _ in range(args.repeat):
            for label, expression in EXPRESSIONS.items():
                before = proc_cpu(pid).own
                conn.execute(f"select count(*) from ts where {expression}").fetchone()
                cpu[label].append(proc_cpu(pid).own - before)
    scan = statistics.median(cpu["bare scan"])
    print(f"\n{n:,} values; backend CPU, median of {args.repeat}\n")
    print("| expression | CPU s per 1 M values | µs per value above the scan |\n|---|---:|---:|")
    for label, runs in cpu.items():
        median = statistics.median(runs) * 1_000_000 / n
        print(f"| {label} | {median:.2f} | {(statistics.median(runs) - scan) * 1_000_000 / n:.2f} |")


if __name__ == "__main__":
    main()
