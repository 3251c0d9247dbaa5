"""Drafts: the team's own posts with their last check, a lead's approval and the publishing result.

Create Date: 2026-12-16
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(256), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("sponsored", sa.Boolean(), nullable=False),
        sa.Column("sponsor", sa.String(200), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_hash", sa.String(64), nullable=True),
        sa.Column("published_by", sa.String(64), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("action_id", sa.String(36), nullable=True, unique=True),
        sa.Column("platform_result_id", sa.String(256), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
    )
    op.create_index("ix_drafts_status", "drafts", ["status"])
    op.create_index("ix_drafts_created_at", "drafts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_drafts_created_at", table_name="drafts")
    op.drop_index("ix_drafts_status", table_name="drafts")
    op.drop_table("drafts")
