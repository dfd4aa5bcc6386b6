"""The analytics views the dashboards added (platform_daily_activity, pipeline_file_loads,
quarantine_reasons) agree with the layers they aggregate, on the demo warehouse."""

from __future__ import annotations

import psycopg

from saas_analytics.transform import ANALYTICS_VIEWS, read_sql, view_key

NEW_VIEWS = ("platform_daily_activity", "pipeline_file_loads", "quarantine_reasons")


def one(conninfo: str, query: str):
    with psycopg.connect(conninfo) as conn:
        return conn.execute(query).fetchone()


def test_views_are_registered_with_a_grain_and_a_key() -> None:
    assert set(NEW_VIEWS) <= set(ANALYTICS_VIEWS)
    for name in NEW_VIEWS:
        text = read_sql("analytics", name)
        assert text.startswith("-- grain: ")
        assert view_key(text, name)


def test_platform_daily_activity_counts_each_active_user_day_once(demo_warehouse: str) -> None:
    assert one(demo_warehouse, """
        select
            (select sum(active_users) from analytics.platform_daily_activity),
            (select count(*) from core.fact_daily_user_activity)
    """) == one(demo_warehouse, "select count(*), count(*) from core.fact_daily_user_activity")
    # every day of the period appears for every platform (no gaps)
    days, platforms, rows = one(demo_warehouse, """
        select count(distinct activity_date), count(distinct platform), count(*)
        from analytics.platform_daily_activity""")
    assert rows == days * platforms
    assert days == one(demo_warehouse, "select count(*) from analytics.daily_active_users")[0]
    assert one(demo_warehouse, """
        select bool_and(d.dau = p.active_users)
        from analytics.daily_active_users d
        join (select activity_date, sum(active_users) as active_users
              from analytics.platform_daily_activity group by 1) p using (activity_date)""")[0]


def test_pipeline_file_loads_reconcile_with_the_load_registry(demo_warehouse: str) -> None:
    files, lines, reconciled = one(demo_warehouse, """
        select count(*), sum(lines_read), bool_and(valid_events + quarantined + duplicates = lines_read)
        from analytics.pipeline_file_loads""")
    assert (files, lines) == one(demo_warehouse, "select count(*), sum(lines_read) from raw.load_files")
    assert reconciled
    assert one(demo_warehouse, "select sum(valid_events) from analytics.pipeline_file_loads")[0] == one(
        demo_warehouse, "select count(*) from staging.events")[0]


def test_quarantine_reasons_add_up(demo_warehouse: str) -> None:
    assert one(demo_warehouse, "select sum(quarantined_lines) from analytics.quarantine_reasons")[0] == one(
        demo_warehouse, "select count(*) from staging.quarantine")[0]
    assert one(demo_warehouse, """
        select bool_and(f.quarantined = coalesce(q.lines, 0))
        from analytics.pipeline_file_loads f
        left join (select file_id, sum(quarantined_lines) as lines
                   from analytics.quarantine_reasons group by 1) q using (file_id)""")[0]
