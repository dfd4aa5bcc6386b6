"""The headline numbers `make demo` prints, read from the warehouse's analytics objects."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from saas_analytics.queries import fetch_all

# each headline block: the named query in sql/queries that reads it
KPI_QUERIES = {
    "load": "kpi_load_totals", "quarantine": "kpi_quarantine_reasons", "active": "kpi_latest_active_users",
    "mrr": "kpi_latest_mrr", "retention": "kpi_month1_retention", "features": "kpi_top_features",
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
    with psycopg.connect(conninfo) as conn:
        def rows(name: str) -> list[dict]:
            return fetch_all(conn, KPI_QUERIES[name])

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
