"""Error kinds: permanent errors (retrying cannot help) fail fast with their one-line reason.

The library raises `PermanentError` subclasses; the task layer (`pipeline.recorded_stage`) re-raises
them through `no_retry()` as a subclass of both the error and Airflow's `AirflowFailException`, which
Airflow never retries. Everything else (e.g. `psycopg.OperationalError`: a dropped connection, a lock
timeout) is left to the DAG's retries.
"""

from __future__ import annotations

import re
from functools import cache


class PermanentError(RuntimeError):
    """An error that a retry cannot fix; its first line says why and what to do."""

    @property
    def reason(self) -> str:
        """The one-line reason (the first line of the message)."""
        return one_line(str(self))


def one_line(text: str, limit: int = 500) -> str:
    """The first non-empty line of a message, at most `limit` characters."""
    for line in str(text).splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""


@cache
def _no_retry_class(base: type[PermanentError]) -> type[BaseException]:
    """`base` combined with AirflowFailException (imported only when a task fails)."""
    from airflow.sdk.exceptions import AirflowFailException

    return type(base.__name__, (base, AirflowFailException), {"__module__": base.__module__,
                                                              "__doc__": base.__doc__})


def no_retry(exc: PermanentError) -> BaseException:
    """The same error, as an exception type Airflow does not retry (AirflowFailException)."""
    return _no_retry_class(type(exc))(*exc.args)


def is_transient(exc: BaseException) -> bool:
    """True for faults a retry may cure: a dropped connection, a lock or statement timeout."""
    import psycopg

    return isinstance(exc, psycopg.OperationalError) and not isinstance(exc, PermanentError)


_SECRET_PATTERNS = (
    # libpq key/value: password=secret or password='se cret'
    (re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]+)", re.IGNORECASE), r"\1****"),
    # URLs: scheme://user:secret@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)([^@\s/]+)(@)", re.IGNORECASE), r"\1****\3"),
    # JSON: "password": "secret"
    (re.compile(r'("password"\s*:\s*")((?:[^"\\]|\\.)*)(")', re.IGNORECASE), r"\1****\3"),
)


def redact(text: str) -> str:
    """`text` with every password in a connection string, URL or JSON document replaced by ****."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text
