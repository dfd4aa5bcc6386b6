"""Alembic environment: runs the warehouse migrations on the connection the caller configured."""

from alembic import context
from sqlalchemy import create_engine, pool

from saas_analytics.warehouse import sqlalchemy_url

config = context.config


def run_migrations_online() -> None:
    """Apply migrations inside one transaction on the warehouse database."""
    url = sqlalchemy_url(config.attributes["conninfo"])
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, version_table_schema="public", transactional_ddl=True)
        with context.begin_transaction():
            context.run_migrations(reader_role=config.attributes.get("reader_role", "analytics_reader"))


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `saas-analytics warehouse migrate`")
run_migrations_online()
