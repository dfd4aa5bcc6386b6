"""The headline numbers `make demo` prints, read from the warehouse's analytics objects."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row

KPI_SQL = {
    "load": """
        select
            (select count(*) from raw.load_files) as files,
            (select coalesce(sum(lines_read), 0) from raw.load_files) as lines,
            (select count(*) from staging.events) as events,
            (select count(*) from staging.quarantine) as quarantined,
            (select count(*) from staging.duplicates) as duplicates
    """,
    "quarantine": """
        select reason, count(*) as n from staging.quarantine group by reason order by n desc, reason
    """,
    "active": """
        select activity_date, dau, wau, mau, stickiness
        from analytics.daily_active_users order by activity_date desc limit 1
    """,
    "mrr": """
        select * from analytics.mrr_monthly order by month desc limit 1
    """,
    "retention": """
        with last_full_cohort as (
            select max(cohort_month) as cohort_month
            from analytics.user_retention_cohorts
            where months_since_signup = 1
              and cohort_month + interval '2 months'
                  <= (select max(activity_date) + 1 from analytics.daily_active_users)
        )
        select r.cohort_month, r.cohort_size, r.retained_users, r.retention_rate
        from analytics.user_retention_cohorts as r
        inner join last_full_cohort using (cohort_month)
        where r.months_since_signup = 1
    """,
    "features": """
        select feature, total_uses, unique_users, adoption_rate
        from analytics.feature_adoption order by adoption_rate desc, feature limit 5
    """,
}


@dataclass(frozen=True)
class Kpis:
    """The headline numbers, as plain rows."""

    load: dict
    quarantine: list[dict]
    active: dict | None
    mrr: dict | None
    retention: dict | None
    features: list[dict]


def read_kpis(conninfo: str) -> Kpis:
    """Query the headline numbers."""
    with psycopg.connect(conninfo, row_factory=dict_row) as conn:
        def rows(name: str) -> list[dict]:
            return conn.execute(KPI_SQL[name]).fetchall()

        return Kpis(
            load=rows("load")[0], quarantine=rows("quarantine"), active=next(iter(rows("active")), None),
            mrr=next(iter(rows("mrr")), None), retention=next(iter(rows("retention")), None),
            features=rows("features"),
        )


def _money(value) -> str:
    """Format a currency amount."""
    return f"${float(value):,.2f}"


def format_kpis(k: Kpis) -> str:
    """A readable multi-line summary."""
    load = k.load
    lines = [
        "Warehouse summary",
        f"  files loaded      {load['files']:,}   lines read {load['lines']:,}",
        f"  events            {load['events']:,} valid · {load['quarantined']:,} quarantined · "
        f"{load['duplicates']:,} duplicates",
    ]
    if k.quarantine:
        lines.append("  quarantined by    " + ", ".join(f"{q['reason']} {q['n']:,}" for q in k.quarantine))
    if k.active:
        a = k.active
        lines.append(f"  active users      {a['activity_date']}: DAU {a['dau']:,} · WAU {a['wau']:,} · "
                     f"MAU {a['mau']:,} · stickiness {float(a['stickiness'] or 0):.1%}")
    if k.mrr:
        m = k.mrr
        lines += [
            f"  revenue           {m['month']:%Y-%m}: MRR {_money(m['mrr'])} · ARR {_money(m['arr'])} · "
            f"{m['customers']:,} customers",
            f"  MRR movements     new {_money(m['new_mrr'])} · expansion {_money(m['expansion_mrr'])} · "
            f"reactivation {_money(m['reactivation_mrr'])} · contraction -{_money(m['contraction_mrr'])} · "
            f"churned -{_money(m['churned_mrr'])}",
        ]
    if k.retention:
        r = k.retention
        lines.append(f"  month-1 retention {r['cohort_month']:%Y-%m} cohort: {r['retained_users']:,} of "
                     f"{r['cohort_size']:,} ({float(r['retention_rate']):.1%})")
    if k.features:
        lines.append("  top features      " + ", ".join(
            f"{f['feature']} {float(f['adoption_rate']):.0%}" for f in k.features))
    return "\n".join(lines)
