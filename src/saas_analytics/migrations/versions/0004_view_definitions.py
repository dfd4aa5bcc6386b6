"""View fingerprints out of comments: `meta.view_definitions` holds each analytics view's SQL fingerprint.

Until 0003 the runner stored `sha256:…` as each materialized view's comment, which Metabase and psql's
`\\d+` show as the table's description. From now on the comment is the object's real description
(grain and definition, from `sql/analytics/<name>.yml`) and the fingerprint lives here, in a schema the
read-only BI role cannot see. Views without a row are re-created by the next analytics refresh, which
replaces the old fingerprint comments.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = """
create schema if not exists meta;

-- one row per analytics view the transform runner created: the fingerprint of the SQL it was created from
create table meta.view_definitions (
    name text primary key,
    fingerprint text not null,
    created_at timestamptz not null default now()
);
"""


def upgrade(reader_role: str = "analytics_reader") -> None:
    """Create meta.view_definitions."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:
    """Drop the meta schema (the next refresh re-creates every view)."""
    op.execute("drop schema if exists meta cascade")
