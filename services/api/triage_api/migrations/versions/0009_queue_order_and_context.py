"""The queue's orders and a flag's conversation context.

- `users.queue_order`: the order each person chose for the desk's queue (null: never chose; the desk then
  lists what needs a human first, and `GET /api/flags` newest first as it always did).
- Two expression indexes for the orders that put open flags first: needs-a-human-first (open, severity rank
  descending, due time, id) and due-soonest (open, due time, id). "Open" is the expression
  `flags.service.OPEN_SQL`, written here as the same text, so both databases match the listing's sort to
  them. On SQLite a later `batch_alter_table` on `flags` rebuilds the table from reflection, which skips
  expression indexes: such a migration must create these two again.
- `flags.parent_comment_id` and `flags.thread_id`: what the comment answers and the post it is under, as the
  platform gave them (`Comment.parent_id`, `thread_id`), so the flag page can show the conversation around a
  comment; an index on (account_id, thread_id) for the flags of one thread, and one on (account_id,
  author_id, flagged_at) for an author's earlier flags on the account. Nullable, no backfill: older flags
  simply show no context.

Create Date: 2026-12-14
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"

OPEN_SQL = "(CASE WHEN status IN ('assigned', 'escalated', 'in_review', 'new') THEN 1 ELSE 0 END)"
EXPRESSION_INDEXES = {
    "ix_flags_priority": f"{OPEN_SQL} DESC, severity_rank DESC, sla_due_at, id",
    "ix_flags_due": f"{OPEN_SQL} DESC, sla_due_at, id",
}
INDEXES = {
    "ix_flags_account_id_thread_id": ["account_id", "thread_id"],
    "ix_flags_account_id_author_id_flagged_at": ["account_id", "author_id", "flagged_at"],
}


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("queue_order", sa.String(16), nullable=True))
    with op.batch_alter_table("flags") as batch:
        batch.add_column(sa.Column("parent_comment_id", sa.String(256), nullable=True))
        batch.add_column(sa.Column("thread_id", sa.String(256), nullable=True))
    for name, columns in INDEXES.items():
        op.create_index(name, "flags", columns)
    for name, expression in EXPRESSION_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON flags ({expression})")


def downgrade() -> None:
    for name in reversed(EXPRESSION_INDEXES):
        op.execute(f"DROP INDEX {name}")
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="flags")
    with op.batch_alter_table("flags") as batch:
        batch.drop_column("thread_id")
        batch.drop_column("parent_comment_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("queue_order")
