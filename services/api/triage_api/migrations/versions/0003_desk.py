"""Moderation desk: team, claim lock and assignment on flags, notes, requested actions, label feedback, and the
append-only audit log (guarded by triggers on both SQLite and PostgreSQL).

Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("flags") as batch:
        batch.add_column(sa.Column("team", sa.String(64), nullable=True))
        batch.add_column(sa.Column("assignee", sa.String(64), nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_action", sa.String(200), nullable=True))
        batch.add_column(sa.Column("last_action_error", sa.String(500), nullable=True))
    op.create_table(
        "flag_notes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("flag_id", sa.String(36), sa.ForeignKey("flags.id", ondelete="CASCADE"), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index("ix_flag_notes_flag_id", "flag_notes", ["flag_id"])
    op.create_table(
        "flag_actions",
        sa.Column("id", sa.String(36), primary_key=True),  # the ActionRequested event id
        sa.Column("flag_id", sa.String(36), sa.ForeignKey("flags.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("template_id", sa.String(64), nullable=True),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("platform_result_id", sa.String(256), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
    )
    op.create_index("ix_flag_actions_flag_id", "flag_actions", ["flag_id"])
    op.create_table(
        "label_feedback",
        sa.Column("flag_id", sa.String(36), sa.ForeignKey("flags.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("label", sa.String(32), primary_key=True),
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("flag_id", sa.String(36), nullable=True),  # no foreign key: the log outlives its flags
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_events_flag_id", "audit_events", ["flag_id"])
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    op.drop_table("audit_events")
    op.drop_table("label_feedback")
    op.drop_table("flag_actions")
    op.drop_table("flag_notes")
    with op.batch_alter_table("flags") as batch:
        for column in ("last_action_error", "last_action", "claimed_until", "claimed_by", "assignee", "team"):
            batch.drop_column(column)
