"""Flags remember the version of the comment they show and whether it was deleted on the platform
(`FlagCleared`): `comment_changed_at` orders verdicts and clears by the comment's own change time,
`comment_deleted_at` tells the desk there is nothing left to act on. Both nullable, no backfill: a flag
without a version falls back to classification times.

Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    with op.batch_alter_table("flags") as batch:
        batch.add_column(sa.Column("comment_changed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("comment_deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("flags") as batch:
        batch.drop_column("comment_deleted_at")
        batch.drop_column("comment_changed_at")
