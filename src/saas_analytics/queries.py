"""The one way Python reads the warehouse: named queries in `sql/queries/<name>.sql`.

Each file is one select (jaffle-shop style, `-- grain:` line, sqlfluff-clean) with psycopg named
parameters (`%(as_of)s`). Python never holds metric SQL in strings: it calls `run_query` (a DataFrame),
`fetch_all` / `fetch_one` (dicts) or `scalar` with the file's name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import dict_row

from saas_analytics.transform import read_sql

if TYPE_CHECKING:
    import pandas as pd

Params = dict[str, Any] | None


def query_text(name: str) -> bytes:
    """The SQL of `sql/queries/<name>.sql`."""
    return read_sql("queries", name).encode()


def _execute(conn: psycopg.Connection, name: str, params: Params) -> psycopg.Cursor:
    """Run a named query on a fresh cursor that returns dicts."""
    return conn.cursor(row_factory=dict_row).execute(query_text(name), params)


def run_query(conn: psycopg.Connection, name: str, params: Params = None) -> pd.DataFrame:
    """Run `sql/queries/<name>.sql`; its rows as a DataFrame (columns kept when there are no rows)."""
    import pandas as pd

    cur = conn.execute(query_text(name), params)
    return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


def copy_query(conn: psycopg.Connection, name: str, params: Params = None,
               timestamps: tuple[str, ...] = ()) -> pd.DataFrame:
    """Run a named query through `COPY (…) TO STDOUT` (CSV): a DataFrame of strings, for millions of rows.

    Several times faster than `run_query` for large reads (no Python object per value). NULL stays
    missing (`\\N` marker), empty strings stay empty; `timestamps` columns become UTC-aware timestamps
    (the session writes them in UTC, ISO style, for this transaction only).
    """
    import io

    import pandas as pd

    text = psycopg.ClientCursor(conn).mogrify(query_text(name).decode(), params)
    conn.execute("set local timezone = 'UTC'")
    conn.execute("set local datestyle = 'ISO, YMD'")
    buf = io.BytesIO()
    with conn.cursor().copy(f"copy ({text}) to stdout with (format csv, header true, null '\\N')") as copy:
        for chunk in copy:
            buf.write(chunk)
    buf.seek(0)
    frame = pd.read_csv(buf, dtype=str, keep_default_na=False, na_values=["\\N"])
    for column in timestamps:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def fetch_all(conn: psycopg.Connection, name: str, params: Params = None) -> list[dict]:
    """Run a named query; its rows as dicts."""
    return _execute(conn, name, params).fetchall()


def fetch_one(conn: psycopg.Connection, name: str, params: Params = None) -> dict | None:
    """Run a named query; its first row as a dict, or None."""
    return _execute(conn, name, params).fetchone()


def scalar(conn: psycopg.Connection, name: str, params: Params = None) -> Any:
    """Run a named query; the first column of its first row (None when there is no row)."""
    row = conn.execute(query_text(name), params).fetchone()
    return row[0] if row else None
