"""What the warehouse database's collation costs on its text keys: backend CPU from /proc, libc's against builtin.

Usage: python scripts/collation_costs.py [--rows 1000000] [--repeat 3]

On the warehouse's server (embedded by default), creates two scratch databases: one as a plain `create database`
makes it (the server's default locale: libc's C.UTF-8 on the embedded server, en_US.utf8 in the postgres image) and
one as `warehouse.create_database` makes it (`warehouse.database_locale`: code-point order compared byte by byte).
In each, a table of `--rows` message-id-like keys (md5 texts, in random order) and user-id-like keys ('user_' and a
number), then, serially (no parallel workers) and alternated between the databases, the text work the daily run
does on its keys: a sort by message id, a sort by user id and message id, a B-tree built on each, and an insert of
the rows into a table with a text primary key. Prints the median backend CPU of each, and checks that both
databases put the keys in the same order (the two collations must agree on the order, only the cost may differ).
"""

from __future__ import annotations

import argparse
import statistics

import psycopg
from proc_cpu import proc_cpu
from psycopg import sql
from psycopg.conninfo import make_conninfo

from saas_analytics import warehouse
from saas_analytics.config import get_settings

DATABASES = {"libc (server default)": "saas_collation_libc", "warehouse locale": "saas_collation_warehouse"}
SETUP = """
create table keys as
select md5(i::text) as message_id, 'user_' || (i::bigint * 7919 %% 15000) as user_id
from generate_series(1, %(rows)s) as i
order by md5((i * 31)::text)
"""
WORK = {
    "sort by message id": "select count(*) from (select message_id from keys order by message_id offset 0) as s",
    "sort by user id, message id": (
        "select count(*) from (select user_id from keys order by user_id, message_id offset 0) as s"),
    "B-tree on message id": "create index keys_message_id on keys (message_id)",
    "B-tree on user id": "create index keys_user_id on keys (user_id)",
    "insert into a text primary key": (
        "create table pk (message_id text primary key, user_id text);"
        " insert into pk select message_id, user_id from keys"),
}
CLEANUP = "drop index if exists keys_message_id; drop index if exists keys_user_id; drop table if exists pk"


def main() -> None:
    """Time each piece of text work in both databases; print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = get_settings()
    warehouse.start(settings)
    admin = warehouse.server_conninfo(settings, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        for label, name in DATABASES.items():
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
            if label == "warehouse locale":
                warehouse.create_database(conn, name)
            else:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    conns = {label: psycopg.connect(make_conninfo(admin, dbname=name), autocommit=True)
             for label, name in DATABASES.items()}
    try:
        orders = {}
        for label, conn in conns.items():
            conn.execute("set max_parallel_workers_per_gather = 0")
            conn.execute("set maintenance_work_mem = '512MB'")
            conn.execute("set work_mem = '512MB'")
            conn.execute(SETUP, {"rows": args.rows})
            conn.execute("vacuum analyze keys")
            orders[label] = conn.execute(
                "select md5(string_agg(message_id, ',' order by user_id, message_id)) from keys").fetchone()[0]
        if len(set(orders.values())) != 1:
            raise SystemExit(f"the two collations order the keys differently: {orders}")
        cpu: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.repeat):
            for work, statement in WORK.items():
                for label, conn in conns.items():
                    conn.execute(CLEANUP)
                    pid = conn.info.backend_pid
                    before = proc_cpu(pid).own
                    conn.execute(statement)
                    cpu.setdefault((work, label), []).append(proc_cpu(pid).own - before)
        for conn in conns.values():
            conn.execute(CLEANUP)
    finally:
        for conn in conns.values():
            conn.close()
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in DATABASES.values():
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
    libc, builtin = DATABASES
    print(f"\n{args.rows:,} keys; backend CPU seconds, median of {args.repeat}; both orders identical\n")
    print(f"| text work | {libc} | {builtin} | ratio |\n|---|---:|---:|---:|")
    for work in WORK:
        a, b = statistics.median(cpu[(work, libc)]), statistics.median(cpu[(work, builtin)])
        print(f"| {work} | {a:.2f} | {b:.2f} | {b / a:.2f} |")


if __name__ == "__main__":
    main()
