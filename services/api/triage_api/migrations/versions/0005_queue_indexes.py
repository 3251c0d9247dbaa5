"""Queue indexes: one per desk filter, each ending in the queue's order (flagged_at, id), so a filtered page
and a cursor's resume point are one index range scan; (label, flag_id) for label membership; and on
PostgreSQL a trigram GIN index for the text search (ILIKE '%…%'), when the pg_trgm extension can be had.

Plain CREATE INDEX (Alembic runs in one transaction): on a large production table, expect writes to flags
to wait while each index builds (about a second per index per 100,000 flags).

Create Date: 2026-12-06
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

log = logging.getLogger(__name__)

ORDER = ["flagged_at", "id"]
FLAG_INDEXES = {
    "ix_flags_flagged_at_id": ORDER,
    "ix_flags_status_flagged_at_id": ["status", *ORDER],
    "ix_flags_severity_flagged_at_id": ["severity", *ORDER],
    "ix_flags_platform_flagged_at_id": ["platform", *ORDER],
    "ix_flags_account_id_flagged_at_id": ["account_id", *ORDER],
    "ix_flags_account_handle_flagged_at_id": ["account_handle", *ORDER],
    "ix_flags_assignee_flagged_at_id": ["assignee", *ORDER],
    "ix_flags_team_flagged_at_id": ["team", *ORDER],
}
TRIGRAM_INDEX = "ix_flags_text_trgm"
ACCOUNT_STATISTICS = "st_flags_platform_account"
ACCOUNT_COLUMNS = "platform, account_id, account_handle"


def upgrade() -> None:
    # The new composites lead with the same columns as these two, so they replace them.
    op.drop_index("ix_flags_flagged_at", table_name="flags")
    op.drop_index("ix_flags_status_flagged_at", table_name="flags")
    for name, columns in FLAG_INDEXES.items():
        op.create_index(name, "flags", columns)
    op.drop_index("ix_flag_labels_label", table_name="flag_labels")
    op.create_index("ix_flag_labels_label_flag_id", "flag_labels", ["label", "flag_id"])
    if op.get_bind().dialect.name == "postgresql":
        # platform, account id and handle go together (an account lives on one platform): without these
        # statistics the planner multiplies their selectivities, expects a few rows where there are
        # thousands, and sorts them all instead of walking the (flagged_at, id) index.
        op.execute(
            f"CREATE STATISTICS {ACCOUNT_STATISTICS} (dependencies, mcv) ON {ACCOUNT_COLUMNS} FROM flags"
        )
        schema = _trigram_schema()
        if schema is None:
            log.warning("pg_trgm is not available: text search in the queue will scan (no %s)", TRIGRAM_INDEX)
        else:
            quoted = op.get_bind().dialect.identifier_preparer.quote_schema(schema)
            op.execute(f"CREATE INDEX {TRIGRAM_INDEX} ON flags USING gin (text {quoted}.gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")
        op.execute(f"DROP STATISTICS IF EXISTS {ACCOUNT_STATISTICS}")
    op.drop_index("ix_flag_labels_label_flag_id", table_name="flag_labels")
    op.create_index("ix_flag_labels_label", "flag_labels", ["label"])
    for name in reversed(FLAG_INDEXES):
        op.drop_index(name, table_name="flags")
    op.create_index("ix_flags_status_flagged_at", "flags", ["status", "flagged_at"])
    op.create_index("ix_flags_flagged_at", "flags", ["flagged_at"])
    # pg_trgm stays installed: it is database-wide, and something else may use it.


def _trigram_schema() -> str | None:
    """The schema pg_trgm lives in, creating it in `public` if it is missing and this role may (it is a
    trusted extension from PostgreSQL 13: a database owner can). None when it cannot be had."""
    bind = op.get_bind()
    find = sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"
    )
    schema = bind.execute(find).scalar()
    if schema is not None:
        return str(schema)
    try:
        with bind.begin_nested():  # a savepoint: a refusal must not abort the migration's transaction
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
    except sa.exc.DBAPIError as exc:
        log.warning("could not create the pg_trgm extension: %s", type(exc.orig).__name__)
    schema = bind.execute(find).scalar()
    return None if schema is None else str(schema)
