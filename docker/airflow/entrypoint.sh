#!/usr/bin/env bash
# Entry point of the project image (docker/airflow/Dockerfile). It wraps the official Airflow
# entrypoint (/entrypoint) and adds three things:
#   1. refuses to start while a secret still holds a `change-me...` placeholder from .env.example;
#   2. writes the SimpleAuthManager password file from AIRFLOW_ADMIN_USERNAME/AIRFLOW_ADMIN_PASSWORD
#      (only the api-server gets those), so the UI login is the one in .env;
#   3. runs `saas-analytics ...` directly; everything else goes to the official entrypoint, which
#      waits for the metadata database and runs `airflow <args>` (`api-server`, `scheduler`,
#      `celery worker`, `dags list`, ...) or `bash ...` / `python ...` as given.
set -euo pipefail

for name in $(compgen -e); do
    case "$name" in
        *PASSWORD* | *PASSWD* | *SECRET* | *FERNET* | *_KEY | *TOKEN* | MB_DB_PASS)
            if [[ "${!name}" == change-me* ]]; then
                echo "refusing to start: $name still holds the placeholder from .env.example;" \
                    "set a real value in .env (python3 docker/make_env.py fills every secret)" >&2
                exit 64
            fi
            ;;
    esac
done

if [[ -n "${AIRFLOW_ADMIN_PASSWORD:-}" ]]; then
    python3 - <<'PY'
import json
import os

path = os.environ.get(
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
    os.path.join(os.environ.get("AIRFLOW_HOME", "/opt/airflow"), "simple_auth_manager_passwords.json"),
)
user = os.environ.get("AIRFLOW_ADMIN_USERNAME") or "admin"
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as handle:
    handle.write(json.dumps({user: os.environ["AIRFLOW_ADMIN_PASSWORD"]}) + "\n")
PY
fi

if [[ "${1:-}" == "celery" && "${2:-}" == "worker" && "${AIRFLOW__CORE__EXECUTOR:-}" != *CeleryExecutor ]]; then
    echo "refusing to start a Celery worker: AIRFLOW__CORE__EXECUTOR is '${AIRFLOW__CORE__EXECUTOR:-}';" \
        "set AIRFLOW_EXECUTOR=CeleryExecutor in .env together with COMPOSE_PROFILES=celery" >&2
    exit 64
fi

if [[ "${1:-}" == "saas-analytics" ]]; then
    exec "$@"
fi
exec "${AIRFLOW_OFFICIAL_ENTRYPOINT:-/entrypoint}" "$@"
