#!/usr/bin/env bash
# One-shot `airflow-init` service: runs as root once per `docker compose up`, then exits 0.
#   1. migrates Airflow's metadata database (`airflow db migrate` is idempotent);
#   2. makes the shared folders writable for the uid the Airflow containers run as (AIRFLOW_UID).
# The warehouse schemas are migrated by the separate `warehouse-init` service.
set -euo pipefail

uid="${AIRFLOW_UID:-50000}"
if [[ "$uid" == 0 ]]; then
    echo "airflow-init: AIRFLOW_UID=0 would run Airflow as root; use your own uid (id -u) or 50000" >&2
    exit 64
fi

echo "airflow-init: migrating the Airflow metadata database"
airflow db migrate
airflow version

# Bind-mounted folders that Docker created for us are owned by root; hand them to the Airflow
# user. Folders that already belong to someone (e.g. you, with AIRFLOW_UID=$(id -u)) are left alone.
mkdir -p "${DATA_DIR:-/data}" "${LANDING_DIR:-/data/landing}" /opt/airflow/logs
for dir in "${DATA_DIR:-/data}" "${LANDING_DIR:-/data/landing}"; do
    if [[ "$(stat -c %u "$dir")" == 0 ]]; then
        chown "${uid}:0" "$dir"
        chmod 0775 "$dir"
    fi
done
# The logs volume is the stack's own: every component writes there as AIRFLOW_UID (done last,
# so files the migration above may have written as root are included).
chown -R "${uid}:0" /opt/airflow/logs

echo "airflow-init: done"
