"""Shared identity resolution: `core.resolve_identity_map()` returns id → person for every linked id.

The core identity step (sql/core/identity.sql) and the file correction's withdrawal
(sql/files/withdraw_identity.sql) both resolve every linked id by following `core.identity_links` to an id
without a link (links never cycle); the query lives once, in this function, and both steps call it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UPGRADE = """
-- one row per linked id: the person its chain of links ends at
create function core.resolve_identity_map()
returns table (id text, person_id text)
language sql stable as $$
    with recursive

    links as (
        select
            source_id,
            target_id
        from core.identity_links
    ),

    chains as (
        select
            source_id as id,
            target_id as person_id,
            1 as depth
        from links
        union all
        select
            chains.id,
            links.target_id as person_id,
            chains.depth + 1 as depth
        from chains
        inner join links on chains.person_id = links.source_id
    ),

    -- the deepest link of an id's chain names its person
    final as (
        select distinct on (id)
            id,
            person_id
        from chains
        order by id asc, depth desc
    )

    select
        id,
        person_id
    from final
$$;
"""

DOWNGRADE = """
drop function if exists core.resolve_identity_map();
"""


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (core only: no grants)
    """Create core.resolve_identity_map()."""
    op.execute(UPGRADE)


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Drop core.resolve_identity_map()."""
    op.execute(DOWNGRADE)
