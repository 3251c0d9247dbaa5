"""Transactional outbox for ActionRequested events, and an e-mail address on staff accounts (OIDC sign-in links
accounts by it).

Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "action_outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),  # publish order
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("kafka_key", sa.LargeBinary(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(200), nullable=True),
    )
    op.create_index("ix_action_outbox_sent_at_id", "action_outbox", ["sent_at", "id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(320), nullable=True))
        batch.create_index("ix_users_email", ["email"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_email")
        batch.drop_column("email")
    op.drop_index("ix_action_outbox_sent_at_id", table_name="action_outbox")
    op.drop_table("action_outbox")
