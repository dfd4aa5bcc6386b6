"""EXPLAIN (ANALYZE, BUFFERS) each statement of one core step, after the steps before it, then roll back.

Usage: python scripts/core_step_plans.py CONNINFO STEP

On a warehouse whose staging holds a batch core has not taken yet (as scripts/core_step_times.py): runs the
core steps before STEP as `transform.run_layer` does, then explains STEP's statements one by one (a statement
EXPLAIN cannot take, such as `analyze`, is just run), and rolls the transaction back.
"""

from __future__ import annotations

import argparse
import re

import psycopg
from psycopg import sql

from saas_analytics import transform


def statements(text: str) -> list[str]:
    """A step file's statements (split at a semicolon ending a line; no step has one inside a statement)."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in re.split(r";\s*\n", body + "\n") if part.strip()]


def main() -> None:
    """Print each statement's first line and its plan."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("conninfo")
    parser.add_argument("step")
    args = parser.parse_args()
    steps = transform.LAYER_STEPS["core"]
    with psycopg.connect(args.conninfo) as conn:
        conn.execute("set work_mem = '256MB'")
        conn.execute("set temp_buffers = '1GB'")
        conn.execute("set random_page_cost = 1.1")
        try:
            transform.run_steps(conn, "core", steps[:steps.index(args.step)], progress=lambda _: None)
            text = transform.step_statement("core", args.step).as_string(conn)
            for statement in statements(text):
                print("=" * 100, "\n", statement.splitlines()[0][:100])
                # statements EXPLAIN cannot take (analyze, alter, create index, a temp table's definition) are just run
                if re.match(r"(analyze|vacuum|alter|create index|create temp table \w+ \()", statement.lower()):
                    conn.execute(sql.SQL(statement))
                    continue
                plan = conn.execute(sql.SQL("explain (analyze, buffers) " + statement)).fetchall()
                print("\n".join(row[0] for row in plan))
        finally:
            conn.rollback()


if __name__ == "__main__":
    main()
