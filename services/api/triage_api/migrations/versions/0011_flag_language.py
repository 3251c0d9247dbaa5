"""`flags.language`: the comment's language as the classifier identified it (`FlagRaised.language`, else
the platform's), so the desk shows it, preselects the reply templates' language from it and routing reads it
from the flag rather than from the `flag.routed` audit entry. Nullable, no backfill: older flags show
"language not identified" and are re-routed by the language their audit entry kept.

`op.add_column`, not `batch_alter_table`: adding a nullable column needs no table rebuild on SQLite, so the
expression indexes of 0009 (`ix_flags_priority`, `ix_flags_due`), which a rebuild from reflection drops,
stay. The downgrade drops the column in place too (SQLite 3.35+ has `ALTER TABLE … DROP COLUMN`; no index
covers it).

Create Date: 2026-12-18
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.add_column("flags", sa.Column("language", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("flags", "language")
