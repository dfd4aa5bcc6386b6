"""What the provisioner needs to know, built from `config.Settings` only: Metabase's address and
credentials, and how Metabase reaches the warehouse as the read-only role."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_DATABASE_NAME = "SaaS analytics warehouse"
DEFAULT_COLLECTION_NAME = "SaaS Analytics"
# Metabase's default password rule ("normal" complexity, MB_PASSWORD_COMPLEXITY / MB_PASSWORD_LENGTH):
# at least 6 characters, at least one digit, and not one of its common passwords.
PASSWORD_RULE = "Metabase's default password complexity 'normal': at least 6 characters, at least 1 digit, " \
    "not a common password"
MIN_PASSWORD_LENGTH = 6
# a sample of the common passwords Metabase refuses (its list has thousands; it compares lower-cased)
COMMON_PASSWORDS = frozenset({
    "123456", "1234567", "12345678", "123456789", "1234567890", "password1", "password12", "password123",
    "passw0rd", "qwerty1", "qwerty12", "qwerty123", "abc123", "abcd1234", "admin1", "admin123", "welcome1",
    "letmein1", "iloveyou1", "monkey1", "dragon1", "111111", "000000", "123123", "654321", "1q2w3e4r",
    "trustno1", "zaq12wsx", "p@ssw0rd", "changeme1", "metabase1",
})


def password_problems(password: str) -> list[str]:
    """What makes a password fail Metabase's default rule (empty when it passes)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"it has {len(password)} characters, fewer than {MIN_PASSWORD_LENGTH}")
    if not any(ch.isdigit() for ch in password):
        problems.append("it has no digit")
    if password.lower() in COMMON_PASSWORDS:
        problems.append("it is a common password")
    return problems



@dataclass(frozen=True)
class WarehouseConnection:
    """How Metabase reaches the warehouse (host/port as Metabase sees it), as the read-only role."""

    host: str
    port: int
    dbname: str
    user: str
    password: str = field(repr=False)
    ssl: bool | None = None  # None: not set by us (METABASE_WAREHOUSE_SSL unset); Metabase decides

    def details(self) -> dict[str, Any]:
        """Metabase's `details` for the postgres engine: only schema `analytics` is synced."""
        return {
            "host": self.host, "port": self.port, "dbname": self.dbname, "user": self.user,
            "password": self.password, "ssl": bool(self.ssl),
            "schema-filters-type": "inclusion", "schema-filters-patterns": "analytics",
        }


@dataclass(frozen=True)
class MetabaseConfig:
    """Everything the provisioner needs; `from_env()` reads it from the settings and the environment."""

    url: str
    warehouse: WarehouseConnection
    api_key: str | None = field(default=None, repr=False)
    admin_email: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    database_name: str = DEFAULT_DATABASE_NAME
    collection_name: str = DEFAULT_COLLECTION_NAME
    site_name: str = "SaaS Analytics"
    timeout: float = 30.0

    @classmethod
    def from_env(cls, settings=None) -> MetabaseConfig:
        """METABASE_* settings, the reader role, and where Metabase finds the warehouse:
        METABASE_WAREHOUSE_HOST/PORT/DBNAME (default: DATABASE_URL's host, port and database)."""
        from psycopg.conninfo import conninfo_to_dict

        from saas_analytics.config import get_settings

        settings = settings or get_settings()
        if not settings.metabase_url:
            raise ValueError("METABASE_URL is not set (e.g. http://localhost:3000); see docs/dashboards.md")
        url_params = conninfo_to_dict(settings.database_url) if settings.database_url else {}
        url_host = str(url_params.get("host") or "")
        host = settings.metabase_warehouse_host or ("" if url_host.startswith("/") else url_host)
        if not host:
            raise ValueError(
                "set METABASE_WAREHOUSE_HOST: the warehouse's host name as Metabase sees it (in the compose "
                "stack: postgres); the embedded warehouse listens on a Unix socket Metabase cannot reach"
            )
        port = settings.metabase_warehouse_port or url_params.get("port") or "5432"
        dbname = settings.metabase_warehouse_dbname or url_params.get("dbname") or settings.warehouse_db
        if not settings.reader_password:
            raise ValueError(f"ANALYTICS_READER_PASSWORD is not set: Metabase connects as {settings.reader_role}")
        try:
            port_number = int(port)
        except ValueError as exc:
            raise ValueError(f"METABASE_WAREHOUSE_PORT must be a number, not {port!r}") from exc
        return cls(
            url=settings.metabase_url.rstrip("/"),
            warehouse=WarehouseConnection(
                host=host, port=port_number, dbname=str(dbname), user=settings.reader_role,
                password=settings.reader_password, ssl=settings.metabase_warehouse_ssl,
            ),
            api_key=settings.metabase_api_key, admin_email=settings.metabase_admin_email,
            admin_password=settings.metabase_admin_password,
            database_name=settings.metabase_database_name or DEFAULT_DATABASE_NAME,
            collection_name=settings.metabase_collection or DEFAULT_COLLECTION_NAME,
        )
