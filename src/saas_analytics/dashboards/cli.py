"""The `saas-analytics metabase …` and `saas-analytics report` commands (registered in saas_analytics.cli)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("metabase")
def metabase_group() -> None:
    """Metabase, provisioned from the dashboard definitions in sql/dashboards."""


@metabase_group.command("provision")
@click.option("--wait", default=0.0, show_default=True, metavar="SECONDS",
              help="Keep retrying until Metabase answers /api/health for up to this long.")
@click.option("--update-credentials", is_flag=True,
              help="Send the reader role's password to Metabase even when the connection looks unchanged "
                   "(after rotating ANALYTICS_READER_PASSWORD).")
@click.option("--check-connection", is_flag=True,
              help="Finally run `select 1` through Metabase to prove it can query the warehouse as the reader.")
def metabase_provision(wait: float, update_credentials: bool, check_connection: bool) -> None:
    """Create or update the warehouse connection (read-only role), collections, cards and dashboards.

    Idempotent: a second run changes nothing; a card whose SQL changed in the repository is updated in
    place. Needs METABASE_URL and METABASE_API_KEY (or METABASE_ADMIN_EMAIL and METABASE_ADMIN_PASSWORD;
    on a fresh Metabase they become its first admin), ANALYTICS_READER_PASSWORD, and the warehouse's
    address as Metabase sees it: METABASE_WAREHOUSE_HOST/PORT/DBNAME (default: DATABASE_URL's).
    """
    from saas_analytics.dashboards.definitions import load_dashboards
    from saas_analytics.dashboards.metabase import MetabaseConfig, provision

    config = MetabaseConfig.from_env()
    dashboards = load_dashboards()
    click.echo(f"metabase: provisioning {len(dashboards)} dashboards, "
               f"{sum(len(d.cards) for d in dashboards)} cards at {config.url} …")
    result = provision(config, dashboards, progress=click.echo, wait=wait, update_credentials=update_credentials,
                       check_connection=check_connection)
    verdict = "up to date, nothing changed" if not result.changed else result.summary()
    click.echo(f"metabase: {verdict}; dashboards in collection {config.collection_name!r}: "
               + ", ".join(f"{config.url}/dashboard/{i}" for i in result.dashboard_ids.values()))


@click.command("report")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First UTC day to show (default: all data).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last UTC day to show (default: all data).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write it. Default: $DATA_DIR/reports/saas_analytics_report.html.")
def report_command(start, end, output: Path | None) -> None:
    """Render the dashboards (sql/dashboards) against the warehouse into one self-contained HTML file."""
    from saas_analytics import warehouse as wh
    from saas_analytics.dashboards.report import build_report

    result = build_report(wh.warehouse_conninfo(), output, start.date() if start else None,
                          end.date() if end else None)
    if result.empty_cards:
        click.echo(f"report: no rows for {len(result.empty_cards)} cards: {', '.join(result.empty_cards)}")
    click.echo(f"report: {result.cards} charts in {result.dashboards} dashboards, "
               f"{result.size_bytes / 1_000_000:.1f} MB, opens offline in any browser:")
    click.echo(f"  {result.path}")
