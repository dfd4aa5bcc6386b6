"""The file registry remembers each loaded file's mtime (issue 10: a load that does not re-read history).

A run used to hash every landing file to find the new ones: after a year that is a year of files re-read
every day. `raw.load_files.file_mtime_ns` records the file's modification time (nanoseconds) when its
content was hashed; a file whose size and mtime are still those is skipped without being read. Files loaded
before this migration have no stamp: the next run hashes them once and records it.

Revision ID: 0019
Revises: 0013
Create Date: 2026-12-01
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001 (raw only: no grants)
    """Add the mtime stamp (null until a run has hashed the file)."""
    op.execute("alter table raw.load_files add column file_mtime_ns bigint")
    op.execute(
        "comment on column raw.load_files.file_mtime_ns is 'the file''s mtime (ns since the epoch) when its"
        " content was last hashed; with size_bytes unchanged, a run skips the file unread'"
    )


def downgrade(reader_role: str = "analytics_reader") -> None:  # noqa: ARG001
    """Drop the stamp."""
    op.execute("alter table raw.load_files drop column file_mtime_ns")
