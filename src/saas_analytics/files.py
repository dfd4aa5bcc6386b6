"""Landing files as an operator sees them, and the correction path: `saas-analytics files list|show|replace|forget`.

`replace` withdraws a loaded file's rows from raw → staging → core and loads its new content in one
transaction (under the loader's and the transforms' locks, so no run interleaves). Staging re-stages the
file and every file sharing a message_id with it (so the earliest copy wins, as in a clean run). Core
goes through the same "what to rebuild" mechanism as a normal run: the identity links the withdrawn events
carried are withdrawn and the identity map recomputed; the withdrawn events (and the events whose person
that changes) leave core.fact_events and join the run's `core_changes` as changes to nobody from their old
person, so sessions, daily activity, subscriptions, MRR and dim_users rebuild exactly the persons touched;
the re-staged events come back as the run's new events. Dimensions keyed by feature, document, plan or
account lose the rows a withdrawn event touched, and core's own dimension steps merge those keys again from
all their remaining events (`sql/files/dimension_batch.sql`, in place of the run's batch): one rule, two
inputs. The analytics are refreshed right after (or by the next run).
Each correction is recorded in analytics.file_corrections with who made it.
"""

from __future__ import annotations

import getpass
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
import psycopg

from saas_analytics import loader, queries, transform
from saas_analytics.config import get_settings
from saas_analytics.errors import PermanentError

log = logging.getLogger(__name__)

WITHDRAW_SCOPE = ("withdrawn_messages", "withdrawn_files", "withdrawn_events", "withdrawn_users")
# core's steps for the dimensions keyed by account, feature, document or plan (min/max merges of a batch)
DIMENSION_STEPS = ("dim_accounts", "dim_features", "dim_documents", "dim_plans")


class FileError(PermanentError):
    """A `files` command cannot do what was asked (unknown file, missing content)."""


@dataclass(frozen=True)
class Correction:
    """What one replace or forget changed."""

    file_name: str
    action: str
    events_withdrawn: int
    events_loaded: int
    users_rebuilt: int
    files_restaged: int
    old_sha256: str | None
    new_sha256: str | None


def actor() -> str:
    """Who runs the command: SAAS_OPERATOR, else the login name."""
    return get_settings().operator or getpass.getuser()


def list_files(conninfo: str, landing_dir: Path) -> list[dict]:
    """Every file the registry or the landing folder knows, with its state."""
    with psycopg.connect(conninfo) as conn:
        registry = queries.fetch_all(conn, "landing_file_registry")
    loaded = {r["file_name"]: r for r in registry if r["is_loaded"]}
    quarantined = {r["file_name"]: r["quarantine_reason"] for r in registry if r["quarantine_reason"] is not None}
    landing_dir = Path(landing_dir)
    on_disk = ({loader.relative_name(landing_dir, p): p for p in loader.landing_files(landing_dir)}
               if landing_dir.is_dir() else {})
    out = []
    for name in sorted(set(loaded) | set(on_disk) | set(quarantined)):
        row = loaded.get(name)
        if name in quarantined:
            state = "quarantined"
        elif row and name not in on_disk:
            state = "loaded (no longer landed)"
        elif row:
            state = "loaded"
        else:
            state = "new" if on_disk[name].stat().st_size else "waiting (empty)"
        out.append({"file_name": name, "state": state, "lines": row["lines_read"] if row else None,
                    "loaded_at": row["loaded_at"] if row else None, "reason": quarantined.get(name)})
    return out


def show(conninfo: str, name: str) -> dict:
    """One loaded file: its registry row, how its lines reconciled, its events in core, its corrections."""
    with psycopg.connect(conninfo) as conn:
        row = queries.fetch_one(conn, "loaded_file", {"file_name": name})
        quarantine = queries.fetch_all(conn, "file_quarantine_history", {"file_name": name})
        corrections = queries.fetch_all(conn, "file_correction_history", {"file_name": name})
    if row is None and not quarantine:
        raise FileError(f"{name}: no such loaded or quarantined file (see `saas-analytics files list`)")
    info = dict(row) if row else {"file_name": name}
    info["quarantine"] = [{k: q[k] for k in ("status", "reason", "first_seen_at", "resolution")} for q in quarantine]
    info["corrections"] = [{"action": c["action"], "by": c["corrected_by"], "at": c["corrected_at"],
                            "events_withdrawn": c["events_withdrawn"], "events_loaded": c["events_loaded"]}
                           for c in corrections]
    return info


def _reload_raw(conn: psycopg.Connection, file_id: int, path: Path, name: str, batch_id: int) -> tuple[str, int]:
    """Replace a registered file's raw rows with the file's current content, keeping its file_id (its place)."""
    sha256 = loader.file_sha256(path)
    conn.execute("delete from raw.rejected_lines where file_id = %s", [file_id])
    conn.execute("delete from raw.events where file_id = %s", [file_id])
    conn.execute("update raw.load_files set file_name = file_name || ' (being replaced)' where file_id = %s",
                 [file_id])
    result = loader.load_file(conn, path, sha256, batch_id, name)
    new_id = queries.fetch_one(conn, "registered_file", {"file_name": name})["file_id"]
    conn.execute("update raw.events set file_id = %s where file_id = %s", [file_id, new_id])
    conn.execute("update raw.rejected_lines set file_id = %s where file_id = %s", [file_id, new_id])
    new = conn.execute("delete from raw.load_files where file_id = %s returning file_name, sha256, size_bytes,"
                       " file_mtime_ns, batch_id, lines_read, lines_loaded, lines_rejected, load_seconds, loaded_at",
                       [new_id]).fetchone()
    conn.execute("update raw.load_files set file_name = %s, sha256 = %s, size_bytes = %s, file_mtime_ns = %s,"
                 " batch_id = %s, lines_read = %s, lines_loaded = %s, lines_rejected = %s, load_seconds = %s,"
                 " loaded_at = %s where file_id = %s", [*new, file_id])
    return sha256, result.lines_read


def correct(conninfo: str, name: str, action: str, landing_dir: Path | None = None, by: str | None = None,
            progress: Callable[[str], None] | None = None) -> Correction:
    """Replace (`action='replace'`) or forget a loaded file, through every layer, in one transaction."""
    say = progress or log.info
    landing_dir = Path(landing_dir or get_settings().landing_dir)
    path = landing_dir / name
    if action == "replace" and not path.is_file():
        raise FileError(f"{path}: no such landing file to load in place of {name}")
    with psycopg.connect(conninfo) as conn, conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", [loader.LOADER_LOCK])
        conn.execute("select pg_advisory_xact_lock(%s)", [transform.TRANSFORM_LOCK])
        conn.execute("set local work_mem = '256MB'")
        row = queries.fetch_one(conn, "registered_file", {"file_name": name})
        if row is None:
            raise FileError(f"{name}: not a loaded file (see `saas-analytics files list`); a new file is loaded "
                            "by the next run")
        file_id, old_sha, old_lines = row["file_id"], row["sha256"], row["lines_read"]
        conn.execute("create temp table corrected_files on commit drop as select %s::bigint as file_id", [file_id])
        new_sha, new_lines = None, None
        if action == "replace":
            batch_id = conn.execute("insert into raw.load_batches (run_id, files_seen) values (%s, 1)"
                                    " returning batch_id", [f"files replace by {by or actor()}"]).fetchone()[0]
            # staging still holds the old content's rows: withdrawn_messages reads them and the new raw rows
            new_sha, new_lines = _reload_raw(conn, file_id, path, name, batch_id)
            conn.execute("update raw.load_batches set finished_at = clock_timestamp(), files_loaded = 1"
                         " where batch_id = %s", [batch_id])
            say(f"{name}: new content loaded into raw ({new_lines:,} lines)")
        transform.run_steps(conn, "files", WITHDRAW_SCOPE, say)
        scope = queries.fetch_one(conn, "correction_scope")
        withdrawn, users, restaged = scope["events_withdrawn"], scope["users_rebuilt"], scope["files_restaged"]
        transform.run_steps(conn, "files", ("withdraw_staging", "withdraw_identity", "withdraw_core"), say)
        if action == "forget":
            conn.execute("delete from raw.rejected_lines where file_id = %s", [file_id])
            conn.execute("delete from raw.events where file_id = %s", [file_id])
            conn.execute("delete from raw.load_files where file_id = %s", [file_id])
        transform.run_steps(conn, "staging", transform.LAYER_STEPS["staging"], say)
        _run_core_with_withdrawals(conn, say)
        # the dimensions' merges cannot forget an event: the keys a withdrawn event touched are deleted, then
        # merged again by core's own dimension steps from all their remaining events
        transform.run_steps(conn, "files", ("withdraw_dimensions", "dimension_batch"), say)
        transform.run_steps(conn, "core", DIMENSION_STEPS, say)
        loaded = queries.scalar(conn, "file_core_events", {"file_id": file_id}) if action == "replace" else 0
        loader.resolve_quarantine(conn, name, "replaced" if action == "replace" else "forgotten")
        conn.execute(
            "insert into analytics.file_corrections (file_name, action, corrected_by, old_sha256, new_sha256,"
            " old_lines, new_lines, events_withdrawn, events_loaded, users_rebuilt, note)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [name, action, by or actor(), old_sha, new_sha, old_lines, new_lines, withdrawn, loaded, users,
             f"{restaged} file(s) re-staged"])
    return Correction(name, action, withdrawn, loaded, users, restaged, old_sha, new_sha)


def _run_core_with_withdrawals(conn: psycopg.Connection, say: Callable[[str], None]) -> list:
    """The ordinary core steps, with the withdrawn events added to `core_changes` right after it is built."""
    steps = transform.LAYER_STEPS["core"]
    cut = steps.index("core_changes") + 1
    results = transform.run_steps(conn, "core", steps[:cut], say)
    results += transform.run_steps(conn, "files", ("withdrawn_changes",), say)
    return results + transform.run_steps(conn, "core", steps[cut:], say)


# --- the CLI group ---------------------------------------------------------------------------------


@click.group("files")
def files_group() -> None:
    """Landing files: list them, show one, replace a loaded file's content, or forget it."""


def _conninfo() -> str:
    from saas_analytics import warehouse as wh

    return wh.warehouse_conninfo()


@files_group.command("list")
def list_command() -> None:
    """Every landed or loaded file and its state (loaded, new, waiting, quarantined)."""
    rows = list_files(_conninfo(), get_settings().landing_dir)
    if not rows:
        click.echo("files: none landed or loaded")
    for r in rows:
        lines = f"{r['lines']:,} lines" if r["lines"] is not None else ""
        click.echo(f"{r['file_name']:<40} {r['state']:<26} {lines}" + (f"  — {r['reason']}" if r["reason"] else ""))


@files_group.command("show")
@click.argument("name")
def show_command(name: str) -> None:
    """One file: registry, line reconciliation, core events, quarantine and correction history."""
    for key, value in show(_conninfo(), name).items():
        click.echo(f"{key:<16} {value}")


@files_group.command("replace")
@click.argument("name")
@click.option("--from", "source", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Copy this file over the landed one first.")
@click.option("--refresh/--no-refresh", default=True, show_default=True,
              help="Refresh the analytics now (otherwise the next run does).")
def replace_command(name: str, source: Path | None, refresh: bool) -> None:
    """Withdraw a loaded file's rows (raw → staging → core) and load its current content in their place."""
    settings = get_settings()
    if source:
        shutil.copyfile(source, settings.landing_dir / name)
    _finish(correct(_conninfo(), name, "replace", settings.landing_dir), refresh)


@files_group.command("forget")
@click.argument("name")
@click.option("--refresh/--no-refresh", default=True, show_default=True,
              help="Refresh the analytics now (otherwise the next run does).")
def forget_command(name: str, refresh: bool) -> None:
    """Withdraw a loaded file's rows from every layer and drop it from the registry."""
    settings = get_settings()
    result = correct(_conninfo(), name, "forget", settings.landing_dir)
    if (settings.landing_dir / name).exists():
        click.echo(f"files: {name} is still in the landing folder: the next run loads it again (move it away)")
    _finish(result, refresh)


def _finish(result: Correction, refresh: bool) -> None:
    click.echo(f"files: {result.action} {result.file_name} by {actor()}: {result.events_withdrawn:,} events "
               f"withdrawn, {result.events_loaded:,} loaded, {result.users_rebuilt:,} users rebuilt, "
               f"{result.files_restaged} file(s) re-staged")
    if refresh:
        transform.refresh_analytics(_conninfo())
        click.echo("files: analytics refreshed")
    else:
        click.echo("files: the analytics change with the next run's refresh")
