"""`comments`: every comment the classifier judged (`CommentJudged`), benign ones too, with its latest
verdict, for the desk's All comments view; and `flags.raised_by`, the person who raised a flag the
classifier passed (null: the classifier raised it). Comments are deleted after `comments_retention_days`.

Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op
from triage_api.migrations.columns import comment_columns

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.create_table(
        "comments",
        sa.Column("id", sa.String(36), primary_key=True),
        *comment_columns(),
        sa.Column("parent_comment_id", sa.String(256), nullable=True),
        sa.Column("thread_id", sa.String(256), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("margin", sa.Float(), nullable=True),
        sa.Column("closest_label", sa.String(32), nullable=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("review_reason", sa.String(64), nullable=True),
        sa.Column("commented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("judged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_comments_stored_at_id", "comments", ["stored_at", "id"])
    op.create_index("ix_comments_judged_at", "comments", ["judged_at"])
    op.create_index("ix_comments_margin_judged_at", "comments", ["margin", "judged_at"])
    op.create_index("ix_comments_platform_judged_at", "comments", ["platform", "judged_at"])
    op.create_index("ix_comments_account_id_judged_at", "comments", ["account_id", "judged_at"])
    op.create_index("ix_comments_language_judged_at", "comments", ["language", "judged_at"])
    op.add_column("flags", sa.Column("raised_by", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("flags", "raised_by")
    op.drop_table("comments")
