"""Read-only access for BI tools: the reader role reads schema analytics and nothing else, and cannot write.

0001 granted the reader USAGE and SELECT on analytics (plus default privileges for tables created later)
and revoked the other schemas. This makes the boundary explicit and complete:

- nothing on raw, staging, core: no schema usage, no table, sequence or function privileges;
- on analytics: USAGE and SELECT only (no CREATE, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER);
- the role's sessions default to read-only transactions and to `search_path = analytics`, so BI tools and
  psql users can write `select * from mrr_monthly` (set only where the migrating role may alter roles:
  superuser, or CREATEROLE with admin rights on the role; skipped with a notice otherwise).

The materialized views are (re)created by `transform.refresh_analytics`, which grants SELECT on each.
When the role does not exist yet (created later by a DBA), this does nothing; re-run its grants then.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import re

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Written without `%` or `:name` so SQLAlchemy's text() leaves it alone; the role name is a literal.
GRANTS = """
do $$
declare
    reader text default {role};
    who text;
begin
    if not exists (select 1 from pg_roles where rolname = reader) then
        raise notice using message = 'role ' || reader || ' does not exist: no grants changed';
        return;
    end if;
    who := quote_ident(reader);
    execute 'revoke all on schema raw, staging, core from ' || who;
    execute 'revoke all on all tables in schema raw, staging, core from ' || who;
    execute 'revoke all on all sequences in schema raw, staging, core from ' || who;
    execute 'revoke all on all functions in schema raw, staging, core from ' || who;
    execute 'revoke create on schema analytics from ' || who;
    execute 'grant usage on schema analytics to ' || who;
    execute 'revoke all on all tables in schema analytics from ' || who;
    execute 'grant select on all tables in schema analytics to ' || who;
    execute 'alter default privileges in schema analytics grant select on tables to ' || who;
    begin
        execute 'alter role ' || who || ' set default_transaction_read_only = on';
        execute 'alter role ' || who || ' set search_path = analytics';
    exception when insufficient_privilege then
        raise notice using message = 'may not alter role ' || reader || ': its session defaults were not set';
    end;
end $$;
"""

RESET = """
do $$
declare
    reader text default {role};
begin
    if exists (select 1 from pg_roles where rolname = reader) then
        begin
            execute 'alter role ' || quote_ident(reader) || ' reset default_transaction_read_only';
            execute 'alter role ' || quote_ident(reader) || ' reset search_path';
        exception when insufficient_privilege then
            null;
        end;
    end if;
end $$;
"""


def _literal(role: str) -> str:
    """The role name as an SQL string literal (names are plain identifiers; anything else is refused)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", role):
        raise ValueError(f"reader role name {role!r} must be a plain identifier")
    return "'" + role + "'"


def upgrade(reader_role: str = "analytics_reader") -> None:
    """Tighten and complete the reader role's privileges."""
    op.execute(GRANTS.replace("{role}", _literal(reader_role)))


def downgrade(reader_role: str = "analytics_reader") -> None:
    """Drop the session defaults (the grants of 0001 stay)."""
    op.execute(RESET.replace("{role}", _literal(reader_role)))
