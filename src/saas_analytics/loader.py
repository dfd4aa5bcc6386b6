"""Loader: landing JSON Lines files → raw.events with COPY, exactly once per file, with a load audit."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import re
import time
import zlib
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg.copy import QueuedLibpqWriter

from saas_analytics.errors import PermanentError

log = logging.getLogger(__name__)

# Contract 1: .jsonl / .ndjson / .json, each optionally + .gz, or a bare .gz; names starting with . or _ ignored.
LANDING_SUFFIXES = (".jsonl", ".ndjson", ".json", ".gz")
IGNORED_PREFIXES = (".", "_")
UTF8_BOM = b"\xef\xbb\xbf"
# a \u0000 escape (not itself escaped): jsonb cannot store NUL, so it becomes U+FFFD and the event is kept
NUL_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")
HAS_NUL_ESCAPE = re.compile(rb"\\u0000").search  # 2-3x faster than `in` on JSON text (frequent zeros)
BLOCK_BYTES = 4 << 20
# COPY in CSV mode with delimiter and quote set to bytes that valid JSON text never contains raw:
# each line then arrives as one untouched field, with no escaping work per character.
DELIM, QUOTE = b"\x02", b"\x01"
COPY_SQL = (
    "copy raw.events (file_id, line_no, payload) from stdin "
    "with (format csv, delimiter e'\\x02', quote e'\\x01'{on_error})"
)
# What the server raises, outside COPY's ON_ERROR, for a line it cannot take at all (a document nested deeper
# than its stack allows, a byte its encoding refuses): the file is then copied again in savepoints, halving
# each refused block until the line at fault is found and rejected.
REFUSED_LINE_ERRORS = (psycopg.errors.DataError, psycopg.errors.ProgramLimitExceeded,  # SQLSTATE 22, 54
                       psycopg.errors.StatementTooComplex)  # 54001: psycopg files it under OperationalError
LOADER_LOCK = 4_242_001


class LoadError(PermanentError):
    """One or more landing files could not be loaded; the message names each file and the fix."""


class LandingDirMissing(LoadError):
    """LANDING_DIR does not exist: no retry can help until someone creates or sets it."""


@dataclass
class FileResult:
    """What happened to one landing file."""

    file_name: str
    status: str  # loaded | skipped | waiting (not settled, or empty) | quarantined (set aside as a file)
    lines_read: int = 0
    lines_loaded: int = 0
    lines_rejected: int = 0
    seconds: float = 0.0
    message: str = ""


@dataclass
class LoadReport:
    """What one loader invocation did."""

    batch_id: int
    files: list[FileResult] = field(default_factory=list)

    @property
    def loaded(self) -> list[FileResult]:
        """Files loaded in this batch."""
        return [f for f in self.files if f.status == "loaded"]

    @property
    def failed(self) -> list[FileResult]:
        """Files that could not be loaded (quarantined as files; the others went on)."""
        return [f for f in self.files if f.status == "quarantined"]

    @property
    def waiting(self) -> list[FileResult]:
        """Files left for the next run: still settling (recently modified) or empty."""
        return [f for f in self.files if f.status == "waiting"]

    @property
    def lines_loaded(self) -> int:
        """Lines stored in raw.events by this batch."""
        return sum(f.lines_loaded for f in self.files)

    @property
    def lines_rejected(self) -> int:
        """Lines kept in raw.rejected_lines by this batch."""
        return sum(f.lines_rejected for f in self.files)


def is_landing_name(name: str) -> bool:
    """True for a file name Contract 1 loads (e.g. `part-0001.jsonl.gz`, `1712345.gz`; not `_SUCCESS`)."""
    return not name.startswith(IGNORED_PREFIXES) and name.endswith(LANDING_SUFFIXES)


def relative_name(landing_dir: Path, path: Path) -> str:
    """A landing file's identity: its path relative to LANDING_DIR, with `/` separators."""
    return path.relative_to(landing_dir).as_posix()


def landing_files(landing_dir: Path) -> list[Path]:
    """Every landing file at any depth (folders starting with . or _ skipped), in load order: by relative path.

    Symlinked folders are followed (a bucket mounted or linked into the landing folder); a folder reached a second
    time (a link back up the tree, or two links to one place) is read only where the walk, in name order, first
    reaches it.
    """
    landing_dir = Path(landing_dir)
    found = []
    visited: set[str] = set()
    for folder, subfolders, names in os.walk(landing_dir, followlinks=True):
        real = os.path.realpath(folder)
        if real in visited:
            subfolders[:] = []
            continue
        visited.add(real)
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(IGNORED_PREFIXES))
        found += [Path(folder) / name for name in names if is_landing_name(name)]
    return sorted((p for p in found if p.is_file()), key=lambda p: relative_name(landing_dir, p))


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes as stored (compressed or not)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _open_text(path: Path):
    """Open a landing file as a binary stream of JSON Lines, gunzipping when needed."""
    return gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")


def _normalise(lines: list[bytes], has_cr: bool, has_nul: bool) -> list[bytes]:
    """Drop the \\r of \\r\\n line ends and turn \\u0000 escapes into \\ufffd (only in blocks that have them)."""
    if has_cr:
        lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    if has_nul:
        lines = [NUL_ESCAPE.sub(rb"\1\\ufffd", line) if b"\\u0000" in line else line for line in lines]
    return lines


def iter_line_blocks(path: Path) -> Iterator[list[bytes]]:
    """Yield the file's lines (without line end, every line numbered, blank ones too) in blocks of a few MB."""
    with _open_text(path) as fh:
        tail = b""
        first = True
        while True:
            chunk = fh.read(BLOCK_BYTES)
            if first and chunk.startswith(UTF8_BOM):
                chunk = chunk[len(UTF8_BOM):]  # a byte-order mark at the start of the file is not data
            first = False
            if not chunk:
                break
            data = tail + chunk
            lines = data.split(b"\n")
            tail = lines.pop()
            yield _normalise(lines, b"\r" in data, HAS_NUL_ESCAPE(data) is not None)
        if tail:
            yield _normalise([tail], b"\r" in tail, HAS_NUL_ESCAPE(tail) is not None)


def _no_constants(name: str) -> None:
    """NaN, Infinity and -Infinity are not JSON (Python accepts them; PostgreSQL does not)."""
    raise ValueError(f"{name} is not a JSON value (PostgreSQL jsonb rejects NaN and Infinity)")


def json_reason(line: bytes) -> str:
    """Why a line is not acceptable JSON text, in the words of Python's parser."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
    try:
        json.loads(text, parse_constant=_no_constants)
    except ValueError as exc:
        return f"invalid JSON: {exc}"
    except RecursionError:
        return "invalid JSON: nested too deeply (PostgreSQL jsonb cannot take it)"
    return "rejected by PostgreSQL jsonb input (e.g. a lone surrogate escape such as \\ud800)"


def _screen(line: bytes) -> bool:
    """True when a line can go to COPY as is (UTF-8, no raw COPY control bytes, no raw NUL byte)."""
    if DELIM in line or QUOTE in line or b"\x00" in line:
        return False
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass
class _Copied:
    """What `_copy_file` sent, held back, and kept aside in case COPY rejects it."""

    lines_read: int = 0  # non-blank lines (blank lines are skipped and not counted)
    sent: array = field(default_factory=lambda: array("i"))  # landing line number of each COPY row
    held: dict[int, bytes] = field(default_factory=dict)  # lines never sent (not UTF-8, control bytes)
    suspects: dict[int, bytes] = field(default_factory=dict)  # sent lines not shaped like {…}
    copied: int = 0  # rows the server stored (sent − skipped by ON_ERROR)


def _well_shaped(block: bytes, n: int) -> bool:
    """True when each of the block's n lines starts with `{` and ends with `}` (checked without a loop)."""
    return (block.startswith(b"{") and block.endswith(b"}")
            and block.count(b"\n{") == n - 1 and block.count(b"}\n") == n - 1)


def _frame_block(lines: list[bytes], first: int, prefix: bytes, strict_json: bool, out: _Copied
                 ) -> tuple[list[bytes], range | list[int]]:
    """A block's COPY rows and their landing line numbers; lines that cannot be sent are kept in `out.held`."""
    numbers = range(first, first + len(lines))
    block = b"\n".join(lines)
    clean = DELIM not in block and QUOTE not in block and b"\x00" not in block
    if clean:
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            clean = False
    if clean and not strict_json and all(lines) and _well_shaped(block, len(lines)):
        out.lines_read += len(lines)
        return [prefix + b"%d" % n + DELIM + line for n, line in zip(numbers, lines, strict=True)], numbers
    rows, sent = [], []
    for n, line in zip(numbers, lines, strict=True):
        if not line.strip():
            continue  # a blank line is skipped and not counted
        out.lines_read += 1
        if _screen(line) and (not strict_json or _is_json(line)):
            rows.append(prefix + b"%d" % n + DELIM + line)
            sent.append(n)
            if not (line[:1] == b"{" and line.rstrip()[-1:] == b"}"):
                out.suspects[n] = line
        else:
            out.held[n] = line
    return rows, sent


def _frames(path: Path, prefix: bytes, strict_json: bool, out: _Copied
            ) -> Iterator[tuple[list[bytes], range | list[int]]]:
    """The file's COPY rows, block by block (every line numbered, blank ones too)."""
    line_no = 0
    for lines in iter_line_blocks(path):
        yield _frame_block(lines, line_no + 1, prefix, strict_json, out)
        line_no += len(lines)


def _copy_file(cur: psycopg.Cursor, path: Path, file_id: int, strict_json: bool, careful: bool = False) -> _Copied:
    """COPY a file's lines into raw.events, keeping aside what may need a rejection reason later.

    `careful`: one COPY per block in a savepoint, so that a line the server refuses outright is found and
    rejected instead of failing the file (see REFUSED_LINE_ERRORS); else one COPY for the whole file.
    """
    out = _Copied()
    prefix = b"%d" % file_id + DELIM
    on_error = ", on_error ignore" if not strict_json else ""
    if careful:
        for rows, numbers in _frames(path, prefix, strict_json, out):
            _copy_halving(cur, COPY_SQL.format(on_error=on_error), rows, numbers, out)
        return out
    # A writer thread sends the data while this thread gunzips and frames the next block.
    with cur.copy(COPY_SQL.format(on_error=on_error), writer=QueuedLibpqWriter(cur)) as copy:
        for rows, numbers in _frames(path, prefix, strict_json, out):
            if rows:
                copy.write(b"\n".join(rows) + b"\n")
                out.sent.extend(numbers)
    out.copied = cur.rowcount if cur.rowcount >= 0 else len(out.sent)
    return out


def _copy_halving(cur: psycopg.Cursor, statement: str, rows: list[bytes], numbers: range | list[int],
                  out: _Copied) -> None:
    """COPY rows in a savepoint; when the server refuses them outright, halve until the refused line is held."""
    if not rows:
        return
    try:
        with cur.connection.transaction():
            with cur.copy(statement) as copy:
                copy.write(b"\n".join(rows) + b"\n")
            copied = cur.rowcount if cur.rowcount >= 0 else len(rows)
    except REFUSED_LINE_ERRORS:
        if len(rows) == 1:
            out.held[numbers[0]] = rows[0].split(DELIM, 2)[2]
            return
        half = len(rows) // 2
        _copy_halving(cur, statement, rows[:half], numbers[:half], out)
        _copy_halving(cur, statement, rows[half:], numbers[half:], out)
        return
    out.sent.extend(numbers)
    out.copied += copied


def _is_json(line: bytes) -> bool:
    """Python-side jsonb check, used only on servers without COPY ON_ERROR (PostgreSQL < 17).

    Refuses what PostgreSQL's jsonb refuses and Python accepts: NaN/Infinity and lone surrogate escapes.
    """
    try:
        value = json.loads(line, parse_constant=_no_constants)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # a lone surrogate cannot be encoded
    except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return False
    return True


def _skipped_lines(cur: psycopg.Cursor, file_id: int, sent: array) -> list[int]:
    """Landing line numbers that COPY skipped as invalid jsonb: those sent and not stored.

    (Not from COPY's per-row notices, `log_verbosity verbose`: a file with hundreds of such lines made the
    server block on sending them while the client was still sending data.)
    """
    loaded = {r[0] for r in cur.execute("select line_no from raw.events where file_id = %s", [file_id])}
    return [n for n in sent if n not in loaded]


def _reread(path: Path, wanted: set[int]) -> dict[int, bytes]:
    """The given lines of a file, read again (only for the rare lines COPY skipped)."""
    found: dict[int, bytes] = {}
    n = 0
    for lines in iter_line_blocks(path):
        for line in lines:
            n += 1
            if n in wanted:
                found[n] = line
    return found


def load_file(
    conn: psycopg.Connection, path: Path, sha256: str, batch_id: int, name: str | None = None
) -> FileResult:
    """Load one file in one transaction: registry row, COPY, rejected lines, counts — all or nothing.

    `name` is the file's identity in the registry: its path relative to LANDING_DIR (default: its name).
    A file holding a line the server refuses outright (REFUSED_LINE_ERRORS) is loaded again, block by block.
    """
    name = name or path.name
    try:
        return _load_file(conn, path, sha256, batch_id, name, careful=False)
    except REFUSED_LINE_ERRORS as exc:
        log.warning("%s: PostgreSQL refused a line outright (%s); loading the file again block by block to find "
                    "and reject it", name, str(exc).splitlines()[0])
        return _load_file(conn, path, sha256, batch_id, name, careful=True)


def _load_file(conn: psycopg.Connection, path: Path, sha256: str, batch_id: int, name: str, careful: bool
               ) -> FileResult:
    """One attempt of `load_file` (see `_copy_file` for `careful`)."""
    started = time.perf_counter()
    strict_json = conn.info.server_version < 170000
    with conn.transaction(), conn.cursor() as cur:
        stat = path.stat()
        file_id = cur.execute(
            "insert into raw.load_files (file_name, sha256, size_bytes, file_mtime_ns, batch_id, lines_read,"
            " lines_loaded, lines_rejected, load_seconds) values (%s, %s, %s, %s, %s, 0, 0, 0, 0)"
            " returning file_id",
            [name, sha256, stat.st_size, stat.st_mtime_ns, batch_id],
        ).fetchone()[0]
        result = _copy_file(cur, path, file_id, strict_json, careful)
        lines_read, held = result.lines_read, result.held
        if result.copied < len(result.sent):
            skipped = _skipped_lines(cur, file_id, result.sent)
            held.update((n, result.suspects[n]) for n in skipped if n in result.suspects)
            missing = {n for n in skipped if n not in result.suspects}
            if missing:  # valid-looking lines PostgreSQL still refused: read them again
                held.update(_reread(path, missing))
        rejected = [(file_id, n, line.decode("utf-8", "replace").replace("\x00", ""), json_reason(line))
                    for n, line in sorted(held.items())]
        if rejected:
            cur.executemany(
                "insert into raw.rejected_lines (file_id, line_no, raw_line, reason)"
                " values (%s, %s, %s, %s)", rejected,
            )
        seconds = time.perf_counter() - started
        cur.execute(
            "update raw.load_files set lines_read = %s, lines_loaded = %s, lines_rejected = %s,"
            " load_seconds = %s where file_id = %s",
            [lines_read, lines_read - len(rejected), len(rejected), round(seconds, 3), file_id],
        )
    return FileResult(name, "loaded", lines_read, lines_read - len(rejected), len(rejected), seconds)


@dataclass(frozen=True)
class Registered:
    """What the file registry recorded of a loaded file: its content hash and its size and mtime then."""

    sha256: str
    size_bytes: int
    mtime_ns: int | None


def registered_files(conn: psycopg.Connection) -> dict[str, Registered]:
    """Every loaded file's registry entry by name (one query: a run does not ask file by file)."""
    rows = conn.execute("select file_name, sha256, size_bytes, file_mtime_ns from raw.load_files").fetchall()
    return {name: Registered(sha, size, mtime) for name, sha, size, mtime in rows}


def unchanged_since_loaded(path: Path, entry: Registered | None) -> bool:
    """True when a registered file still has the size and mtime it had when its content was hashed.

    The quick check rsync and make rely on: a run re-reads (hashes) only files that are new or whose size
    or mtime moved, so a day's load does not re-read the year of files before it. LANDING_VERIFY_CONTENT=1
    hashes every file every run instead (for a landing store that rewrites files keeping size and mtime).
    """
    if entry is None or entry.mtime_ns is None:
        return False
    try:
        stat = path.stat()
    except OSError:  # gone or unreadable since the listing: the full path reports it
        return False
    return stat.st_size == entry.size_bytes and stat.st_mtime_ns == entry.mtime_ns


def _registry_check(conn: psycopg.Connection, path: Path, sha256: str, name: str) -> FileResult | None:
    """None when the file is new; otherwise the skip or failure the registry dictates."""
    row = conn.execute("select sha256 from raw.load_files where file_name = %s", [name]).fetchone()
    if row and row[0] == sha256:
        # same content, new mtime (touched, copied back): remember the stamp so the next run need not hash it
        stat = path.stat()
        conn.execute("update raw.load_files set file_mtime_ns = %s where file_name = %s and size_bytes = %s",
                     [stat.st_mtime_ns, name, stat.st_size])
        return FileResult(name, "skipped", message="already loaded")
    if row:
        return FileResult(
            name, "failed",
            message=(
                f"{path}: a file of this name was already loaded with different content "
                f"(sha256 {row[0][:12]}… then, {sha256[:12]}… now); quarantined. To load the new content in "
                f"its place: `saas-analytics files replace {name}`; to keep the loaded one: restore the file."
            ),
        )
    twin = conn.execute("select file_name from raw.load_files where sha256 = %s", [sha256]).fetchone()
    if twin:
        return FileResult(name, "skipped", message=f"identical content already loaded as {twin[0]}")
    return None


def load_landing(
    conninfo: str,
    landing_dir: Path,
    run_id: str | None = None,
    progress: Callable[[str], None] | None = None,
    fail_on_error: bool = True,
    settle_seconds: float | None = None,
    verify_content: bool | None = None,
) -> LoadReport:
    """Load every settled landing file not yet loaded, in name order; set bad files aside as files.

    Files younger than `settle_seconds` (default: LANDING_SETTLE_SECONDS) or empty wait for the next
    run, unregistered. A changed or unreadable file is quarantined (raw.quarantined_files) and the
    others load; with `fail_on_error`, LoadError is raised afterwards naming them. A loaded file whose
    size and mtime are those recorded is skipped unread, unless `verify_content` (default:
    LANDING_VERIFY_CONTENT) asks to hash every file.
    """
    say = progress or log.info
    landing_dir = Path(landing_dir)
    if not landing_dir.is_dir():
        raise LandingDirMissing(
            f"landing folder {landing_dir} does not exist: create it, set LANDING_DIR, "
            "or run `saas-analytics simulate`"
        )
    if settle_seconds is None or verify_content is None:
        from saas_analytics.config import get_settings

        settings = get_settings()
        settle_seconds = settings.landing_settle_seconds if settle_seconds is None else settle_seconds
        verify_content = settings.landing_verify_content if verify_content is None else verify_content
    files, waiting = settled_files(landing_dir, landing_files(landing_dir), settle_seconds)
    for result in waiting:
        say(f"{result.file_name}: left for the next run — {result.message}")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", [LOADER_LOCK])
        batch_id = conn.execute(
            "insert into raw.load_batches (run_id, files_seen) values (%s, %s) returning batch_id",
            [run_id, len(files)],
        ).fetchone()[0]
        report = LoadReport(batch_id, list(waiting))
        if not files and not waiting:
            say(f"{landing_dir}: no landing files (*.jsonl, *.ndjson, *.json, optionally .gz, or *.gz) at any depth")
        registry = {} if verify_content else registered_files(conn)
        quarantined = open_quarantines(conn)
        for i, path in enumerate(files, 1):
            name = relative_name(landing_dir, path)
            if name not in quarantined and unchanged_since_loaded(path, registry.get(name)):
                report.files.append(FileResult(name, "skipped", message="already loaded (size and mtime unchanged)"))
                continue
            result = _load_one(conn, path, batch_id, name)
            report.files.append(result)
            if result.status == "loaded":
                rate = result.lines_read / result.seconds if result.seconds else 0
                say(f"[{i}/{len(files)}] {result.file_name}: {result.lines_loaded:,} lines loaded, "
                    f"{result.lines_rejected:,} rejected ({rate:,.0f} lines/s)")
            elif result.status == "quarantined":
                say(f"[{i}/{len(files)}] {result.file_name}: QUARANTINED — {result.message}")
        conn.execute(
            "update raw.load_batches set finished_at = clock_timestamp(), files_loaded = %s,"
            " files_skipped = %s, files_failed = %s where batch_id = %s",
            [len(report.loaded), sum(f.status in ("skipped", "waiting") for f in report.files), len(report.failed),
             batch_id],
        )
        conn.execute("select pg_advisory_unlock(%s)", [LOADER_LOCK])
    say(f"batch {batch_id}: {len(report.loaded)} new files, {report.lines_loaded:,} lines loaded, "
        f"{report.lines_rejected:,} rejected, {len(files) - len(report.loaded) - len(report.failed)} already loaded"
        + (f", {len(report.failed)} quarantined" if report.failed else "")
        + (f", {len(report.waiting)} left for the next run" if report.waiting else ""))
    if report.failed and fail_on_error:
        raise LoadError("; ".join(f.message for f in report.failed))
    return report


def _load_one(conn: psycopg.Connection, path: Path, batch_id: int, name: str) -> FileResult:
    """Check the registry, then load; a bad file is quarantined as a file, never half-loaded."""
    sha256: str | None = None
    try:
        sha256 = file_sha256(path)
        verdict = _registry_check(conn, path, sha256, name)
        if verdict is None:
            verdict = load_file(conn, path, sha256, batch_id, name)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        verdict = FileResult(name, "failed", message=f"{path}: cannot read ({exc}); land a complete copy "
                             f"and run `saas-analytics files replace {name}` (or remove it)")
    if verdict.status == "failed":
        return quarantine_file(conn, path, name, sha256, verdict.message, batch_id)
    if verdict.status in ("loaded", "skipped"):
        resolve_quarantine(conn, name, "loaded" if verdict.status == "loaded" else "restored")
    return verdict


# --- landing-file lifecycle: settle, quarantine, resolve ------------------------------------------


def settled_files(landing_dir: Path, files: list[Path], settle_seconds: float, now: float | None = None
                  ) -> tuple[list[Path], list[FileResult]]:
    """Split files into those ready to load and those left for the next run (too young, or empty)."""
    now = time.time() if now is None else now
    ready, waiting = [], []
    for path in files:
        try:
            st = path.stat()
        except FileNotFoundError:  # removed while we looked
            continue
        name = relative_name(landing_dir, path)
        if st.st_size == 0:
            waiting.append(FileResult(name, "waiting", message="empty (0 bytes): still being written?"))
        elif now - st.st_mtime < settle_seconds:
            waiting.append(FileResult(name, "waiting", message=(
                f"modified {max(now - st.st_mtime, 0):.0f}s ago, settles after {settle_seconds:.0f}s "
                "(LANDING_SETTLE_SECONDS)")))
        else:
            ready.append(path)
    return ready, waiting


def quarantine_file(conn: psycopg.Connection, path: Path, name: str, sha256: str | None, reason: str,
                    batch_id: int) -> FileResult:
    """Set a landing file aside as a whole: one open raw.quarantined_files row per file name.

    The same bad content seen again only refreshes `last_seen_at`; new bad content updates the row and
    logs a raw.load_failures record (so a file quarantined once is logged once, not once per retry).
    """
    size = path.stat().st_size if path.exists() else None
    with conn.transaction():
        row = conn.execute("select quarantine_id, sha256 from raw.quarantined_files"
                           " where file_name = %s and status = 'quarantined' for update", [name]).fetchone()
        if row and row[1] == sha256:
            conn.execute("update raw.quarantined_files set last_seen_at = clock_timestamp() where quarantine_id = %s",
                         [row[0]])
        else:
            if row:
                conn.execute("update raw.quarantined_files set sha256 = %s, size_bytes = %s, reason = %s,"
                             " last_seen_at = clock_timestamp() where quarantine_id = %s",
                             [sha256, size, reason, row[0]])
            else:
                conn.execute("insert into raw.quarantined_files (file_name, sha256, size_bytes, reason, first_batch_id)"
                             " values (%s, %s, %s, %s, %s)", [name, sha256, size, reason, batch_id])
            conn.execute(
                "insert into raw.load_failures (batch_id, file_name, sha256, reason) values (%s, %s, %s, %s)",
                [batch_id, name, sha256, reason],
            )
    return FileResult(name, "quarantined", message=reason)


def open_quarantines(conn: psycopg.Connection) -> set[str]:
    """Names of the landing files set aside and not yet resolved (each is re-read every run)."""
    rows = conn.execute("select file_name from raw.quarantined_files where status = 'quarantined'").fetchall()
    return {row[0] for row in rows}


def resolve_quarantine(conn: psycopg.Connection, file_name: str, resolution: str) -> int:
    """Close the open quarantine of a file (it loaded, was restored, replaced or forgotten)."""
    cur = conn.execute("update raw.quarantined_files set status = 'resolved', resolved_at = clock_timestamp(),"
                       " resolution = %s where file_name = %s and status = 'quarantined'", [resolution, file_name])
    return cur.rowcount
