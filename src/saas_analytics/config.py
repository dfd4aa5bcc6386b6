"""All configuration, read once from the environment (and an optional `.env` file)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dotenv import load_dotenv

WAREHOUSE_CONN_ID = "saas_warehouse"
DAG_ID = "saas_analytics_daily"


def _path(name: str, default: Path) -> Path:
    """Read a path from the environment, made absolute."""
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default.resolve()


def _flag(name: str) -> bool | None:
    """A yes/no setting: True for 1/true/yes, False for anything else set, None when unset or empty."""
    value = os.environ.get(name, "").strip().lower()
    return (value in {"1", "true", "yes", "on"}) if value else None


@dataclass(frozen=True)
class Settings:
    """Every setting the project reads; built by `get_settings()`."""

    project_dir: Path
    data_dir: Path
    landing_dir: Path
    pgdata_dir: Path
    airflow_home: Path
    database_url: str | None
    airflow_database_url: str | None
    warehouse_db: str
    airflow_db: str
    reader_role: str
    reader_password: str | None
    metabase_url: str | None
    metabase_api_key: str | None
    metabase_admin_email: str | None
    metabase_admin_password: str | None
    metabase_warehouse_host: str | None = None  # the warehouse as Metabase reaches it (default: DATABASE_URL's)
    metabase_warehouse_port: str | None = None
    metabase_warehouse_dbname: str | None = None
    metabase_warehouse_ssl: bool | None = None  # None when METABASE_WAREHOUSE_SSL is unset
    metabase_database_name: str | None = None
    metabase_collection: str | None = None
    # A landing file younger than this (by mtime), or empty, is left for the next run (still uploading).
    landing_settle_seconds: float = 60.0
    # Hash every landing file every run, not only new files and files whose size or mtime moved since loading.
    landing_verify_content: bool = False
    # The local Airflow api-server (UI, REST API, execution API): where it listens.
    airflow_host: str = "127.0.0.1"
    airflow_port: int = 8080
    # Who runs `saas-analytics files replace|forget` (recorded with each correction); None: the login name.
    operator: str | None = None
    # The churn model retrains when its latest training is this many data days old (else it only scores).
    churn_retrain_days: int = 7
    # Between those days, retrain when the champion's ROC AUC on the newest matured observation date fell
    # more than this below the AUC recorded at its promotion.
    churn_retrain_auc_drop: float = 0.05
    # Data checks over all history on every run (else scoped to what changed; a full sweep weekly).
    data_checks_full: bool = False
    # The daily DAG's run whose logical date falls on this weekday (0 = Monday … 6 = Sunday; None: never)
    # runs the data checks over all history instead of the scope of what changed.
    data_checks_full_weekday: int | None = 6
    # Server settings applied to the embedded PostgreSQL with `alter system` (never to a DATABASE_URL server):
    # EMBEDDED_PG_SETTINGS, each overridden by WAREHOUSE_PG_<NAME> ('default': PostgreSQL's own default).
    embedded_pg_settings: tuple[tuple[str, str], ...] = ()

    @property
    def embedded(self) -> bool:
        """True when the project runs its own embedded PostgreSQL server."""
        return self.database_url is None

    @property
    def sql_dir(self) -> Path:
        """Folder holding all warehouse SQL."""
        return self.project_dir / "sql"

    @property
    def dags_dir(self) -> Path:
        """Folder holding the Airflow DAG files."""
        return self.project_dir / "dags"


def _project_dir() -> Path:
    """The repository root: SAAS_PROJECT_DIR, else the checkout this package lives in, else cwd."""
    if os.environ.get("SAAS_PROJECT_DIR"):
        return Path(os.environ["SAAS_PROJECT_DIR"]).resolve()
    here = Path(__file__).resolve().parents[2]
    if (here / "sql").is_dir() and (here / "dags").is_dir():
        return here
    return Path.cwd().resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Build the settings from the environment; `.env` in the project folder fills gaps."""
    project_dir = _project_dir()
    load_dotenv(project_dir / ".env", override=False)
    data_dir = _path("DATA_DIR", project_dir / "data")
    return Settings(
        project_dir=project_dir,
        data_dir=data_dir,
        landing_dir=_path("LANDING_DIR", data_dir / "landing"),
        pgdata_dir=_path("WAREHOUSE_PGDATA", data_dir / "postgres"),
        airflow_home=_path("AIRFLOW_HOME", data_dir / "airflow"),
        database_url=os.environ.get("DATABASE_URL") or None,
        airflow_database_url=os.environ.get("AIRFLOW_DATABASE_URL") or None,
        warehouse_db=os.environ.get("WAREHOUSE_DB", "warehouse"),
        airflow_db=os.environ.get("AIRFLOW_DB", "airflow"),
        reader_role=os.environ.get("ANALYTICS_READER_ROLE", "analytics_reader"),
        reader_password=os.environ.get("ANALYTICS_READER_PASSWORD") or None,
        metabase_url=os.environ.get("METABASE_URL") or None,
        metabase_api_key=os.environ.get("METABASE_API_KEY") or None,
        metabase_admin_email=os.environ.get("METABASE_ADMIN_EMAIL") or None,
        metabase_admin_password=os.environ.get("METABASE_ADMIN_PASSWORD") or None,
        metabase_warehouse_host=os.environ.get("METABASE_WAREHOUSE_HOST") or None,
        metabase_warehouse_port=os.environ.get("METABASE_WAREHOUSE_PORT") or None,
        metabase_warehouse_dbname=os.environ.get("METABASE_WAREHOUSE_DBNAME") or None,
        metabase_warehouse_ssl=_flag("METABASE_WAREHOUSE_SSL"),
        metabase_database_name=os.environ.get("METABASE_DATABASE_NAME") or None,
        metabase_collection=os.environ.get("METABASE_COLLECTION") or None,
        landing_settle_seconds=_seconds("LANDING_SETTLE_SECONDS", 60.0),
        landing_verify_content=bool(_flag("LANDING_VERIFY_CONTENT")),
        airflow_host=os.environ.get("AIRFLOW_HOST") or "127.0.0.1",
        airflow_port=_port("AIRFLOW_PORT", 8080),
        operator=os.environ.get("SAAS_OPERATOR") or None,
        churn_retrain_days=int(_seconds("CHURN_RETRAIN_DAYS", 7)),
        churn_retrain_auc_drop=_auc_drop("CHURN_RETRAIN_AUC_DROP", 0.05),
        data_checks_full=bool(_flag("DATA_CHECKS_FULL")),
        data_checks_full_weekday=_weekday("DATA_CHECKS_FULL_WEEKDAY", 6),
        embedded_pg_settings=_embedded_pg_settings(),
    )


# The embedded server's settings for a big day on a machine of a few cores and ≥ 8 GiB (PostgreSQL's defaults
# are 128MB, 1GB, 5min, off): the year's hot indexes stay in shared buffers, and a 1 M-event day's ~1 GB of WAL
# does not force checkpoints (each followed by full-page images of every page touched again). See
# docs/benchmarks.md, "Issue 10, third pass: core on a big day".
EMBEDDED_PG_SETTINGS: dict[str, str] = {
    "shared_buffers": "1GB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
}
EMBEDDED_PG_PREFIX = "WAREHOUSE_PG_"


def _embedded_pg_settings() -> tuple[tuple[str, str], ...]:
    """EMBEDDED_PG_SETTINGS with WAREHOUSE_PG_<NAME> overrides (and additions) from the environment, by name."""
    values = dict(EMBEDDED_PG_SETTINGS)
    for key, value in os.environ.items():
        if not key.upper().startswith(EMBEDDED_PG_PREFIX) or not value.strip():
            continue
        name = key[len(EMBEDDED_PG_PREFIX):].lower()
        if not name.replace("_", "").isalnum() or not name[0].isalpha():
            raise ValueError(f"{key} does not name a PostgreSQL setting (WAREHOUSE_PG_<NAME>, e.g. "
                             "WAREHOUSE_PG_SHARED_BUFFERS=2GB)")
        values[name] = value.strip()
    return tuple(sorted(values.items()))


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekday(name: str, default: int | None) -> int | None:
    """A weekday from the environment (a name such as `sunday`, or `never`): 0 = Monday … 6 = Sunday, or None."""
    value = (os.environ.get(name) or "").strip().lower()
    if not value:
        return default
    if value in ("never", "none", "off"):
        return None
    matches = [i for i, day in enumerate(WEEKDAYS) if day.startswith(value) and len(value) >= 3]
    if len(matches) != 1:
        raise ValueError(f"{name} must be a weekday (monday … sunday) or 'never', not {value!r}")
    return matches[0]


def _port(name: str, default: int) -> int:
    """A TCP port number from the environment."""
    value = os.environ.get(name) or str(default)
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{name} must be a TCP port number (1-65535), not {value!r}")
    return int(value)


def _auc_drop(name: str, default: float) -> float:
    """A tolerated fall of ROC AUC (0 to 1) from the environment."""
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        drop = float(value)
    except ValueError:
        drop = -1.0
    if not 0 <= drop <= 1:
        raise ValueError(f"{name} must be a fall of ROC AUC between 0 and 1 (e.g. 0.05), not {value!r}")
    return drop


def _seconds(name: str, default: float) -> float:
    """A non-negative number of seconds from the environment."""
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, not {value!r}")
    return seconds
