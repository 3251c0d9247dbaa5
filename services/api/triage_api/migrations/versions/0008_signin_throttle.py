"""Sign-in throttling: failed attempts per account and per client address, with the lock and its back-off
exponent, kept in the database so every API process and a restarted one see the same lock.

Create Date: 2026-12-12
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "signin_throttle",
        sa.Column("scope", sa.String(16), primary_key=True),
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("forget_after", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_signin_throttle_forget_after", "signin_throttle", ["forget_after"])


def downgrade() -> None:
    op.drop_index("ix_signin_throttle_forget_after", table_name="signin_throttle")
    op.drop_table("signin_throttle")
