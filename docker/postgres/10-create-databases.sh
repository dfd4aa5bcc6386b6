#!/usr/bin/env bash
# Creates the stack's roles and databases. The postgres image runs every script in
# /docker-entrypoint-initdb.d once, on the first start of an EMPTY data volume; later starts skip
# it (changing a password in .env afterwards needs `ALTER ROLE ... PASSWORD`, see docs/compose.md).
#
#   database    owner      used by
#   warehouse   pipeline   the pipeline (raw, staging, core, analytics); its schemas come from
#                          `saas-analytics warehouse migrate` (the warehouse-init service)
#   airflow     airflow    Airflow's metadata database (`airflow db migrate`, the airflow-init service)
#   metabase    metabase   Metabase's application database
#
# plus the read-only role ANALYTICS_READER_ROLE (default analytics_reader) that Metabase queries
# the warehouse as; the warehouse migrations grant it schema `analytics` only.
#
# Passwords come from the environment (docker-compose.yml passes them from .env); nothing is
# hard-coded. psql's :'var' / :"var" interpolation quotes them, so any character is safe here.
set -eo pipefail

: "${POSTGRES_USER:?}"
: "${WAREHOUSE_PASSWORD:?WAREHOUSE_PASSWORD is not set}"
: "${AIRFLOW_DB_PASSWORD:?AIRFLOW_DB_PASSWORD is not set}"
: "${METABASE_DB_PASSWORD:?METABASE_DB_PASSWORD is not set}"
: "${ANALYTICS_READER_PASSWORD:?ANALYTICS_READER_PASSWORD is not set}"
reader_role="${ANALYTICS_READER_ROLE:-analytics_reader}"

echo "init: creating roles pipeline, airflow, metabase, ${reader_role} and databases warehouse, airflow, metabase"

psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-postgres}" \
    -v pipeline_password="$WAREHOUSE_PASSWORD" \
    -v airflow_password="$AIRFLOW_DB_PASSWORD" \
    -v metabase_password="$METABASE_DB_PASSWORD" \
    -v reader_role="$reader_role" \
    -v reader_password="$ANALYTICS_READER_PASSWORD" <<'SQL'
-- No role can create roles or databases: pipeline owns the warehouse and grants the reader what
-- it may read (`saas-analytics warehouse migrate` skips role management without CREATEROLE).
CREATE ROLE pipeline LOGIN PASSWORD :'pipeline_password';
CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE ROLE metabase LOGIN PASSWORD :'metabase_password';
CREATE ROLE :"reader_role" LOGIN NOINHERIT PASSWORD :'reader_password';

-- The warehouse sorts text in code-point order, compared byte by byte, as the embedded warehouse does (the image's
-- default en_US.utf8 sorts otherwise, through the C library): saas_analytics.warehouse.database_locale.
CREATE DATABASE warehouse OWNER pipeline TEMPLATE template0 ENCODING 'UTF8'
    LOCALE_PROVIDER builtin BUILTIN_LOCALE 'C.UTF-8';
CREATE DATABASE airflow OWNER airflow;
CREATE DATABASE metabase OWNER metabase;

-- Least privilege: nobody but the owner connects, except the reader to the warehouse.
REVOKE ALL ON DATABASE warehouse FROM PUBLIC;
REVOKE ALL ON DATABASE airflow FROM PUBLIC;
REVOKE ALL ON DATABASE metabase FROM PUBLIC;
GRANT CONNECT ON DATABASE warehouse TO :"reader_role";

-- All dates in the warehouse are UTC.
ALTER DATABASE warehouse SET timezone TO 'UTC';
ALTER DATABASE airflow SET timezone TO 'UTC';
SQL

echo "init: done"
