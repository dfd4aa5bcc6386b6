"""Defect 6: two first runs on a fresh warehouse both created the analytics views; one failed on pg_type."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from ops_helpers import rows

from saas_analytics import transform


def test_reproduce_two_creates_of_one_view_collide_without_the_lock(warehouse_db: str) -> None:
    """Without serialisation the second CREATE waits on the first's pg_type row, then fails."""
    ddl = "create materialized view analytics.race as select 1 as one"
    with psycopg.connect(warehouse_db) as first:
        first.execute(ddl)  # uncommitted
        outcome: list[BaseException | None] = []

        def second() -> None:
            try:
                with psycopg.connect(warehouse_db, autocommit=True) as conn:
                    conn.execute(ddl)
                outcome.append(None)
            except psycopg.Error as exc:
                outcome.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=2)
        assert thread.is_alive(), "the second CREATE should be waiting for the first"
        first.commit()
        thread.join(timeout=30)
    assert outcome and isinstance(outcome[0], psycopg.errors.UniqueViolation | psycopg.errors.DuplicateTable)


@pytest.mark.parametrize("attempt", [1, 2])
def test_two_concurrent_first_refreshes_both_succeed(warehouse_db: str, attempt: int) -> None:
    """Two refreshes at once on a warehouse with no views: both succeed, each view exists once."""
    barrier = threading.Barrier(2)

    def refresh() -> list[str]:
        barrier.wait()
        return [s.name for s in transform.refresh_analytics(warehouse_db)]

    with ThreadPoolExecutor(2) as pool:
        results = [f.result(timeout=120) for f in [pool.submit(refresh), pool.submit(refresh)]]
    # the funnels (sql/funnels.yml) are synced first, under the same lock, and the per-person funnel
    # progress (and the funnel and acquisition months over it) rebuilt for any redefined funnel; then every view
    expected = ["core.funnel_steps", *[f"core.{step}" for step in transform.FUNNEL_REBUILD_STEPS],
                *[f"analytics.{name}" for name in transform.ANALYTICS_VIEWS]]
    assert results == [expected, expected]
    # each view exists once, as its kind: a materialized view, or a plain view (`-- kind: view`)
    kinds = {name: "v" if transform.PLAIN_VIEW_LINE.search(transform.read_sql("analytics", name)) else "m"
             for name in transform.ANALYTICS_VIEWS}
    found = rows(warehouse_db, "select c.relname, c.relkind::text from pg_class as c join pg_namespace as n"
                               " on n.oid = c.relnamespace where n.nspname = 'analytics' and c.relname = any(%s)",
                 [list(kinds)])
    assert sorted(found) == sorted(kinds.items())
