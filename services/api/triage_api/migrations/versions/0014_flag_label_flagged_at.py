"""`flag_labels.flagged_at`: each label row carries its flag's flagged time, and the label indexes end in
(flagged_at, flag_id), so a page of one label (with or without a status) newest or oldest first walks one
index and stops after a page, whatever the table's size (issue #23: at 1,000,000 flags a label + status page
hash-joined tens of thousands of flags to sort them).

A flag's flagged time never changes, so the copy needs no update trigger: the API gives it with each label
row, and a trigger fills it on insert when a writer did not (as migration 0013 does for the status).
Existing rows are backfilled. (label, flag_id) and (label, status, flag_id) give way to the same columns
with `flagged_at` before `flag_id`, which serve the capped counts as well. The downgrade puts them back.

Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"

OLD_INDEXES = {
    "ix_flag_labels_label_flag_id": ["label", "flag_id"],
    "ix_flag_labels_label_status_flag_id": ["label", "status", "flag_id"],
}
NEW_INDEXES = {
    "ix_flag_labels_label_flagged_at_flag_id": ["label", "flagged_at", "flag_id"],
    "ix_flag_labels_label_status_flagged_at_flag_id": ["label", "status", "flagged_at", "flag_id"],
}

POSTGRESQL_UP = [
    """
    CREATE FUNCTION flag_labels_flagged_at_from_flag() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.flagged_at IS NULL THEN
            SELECT flagged_at INTO NEW.flagged_at FROM flags WHERE id = NEW.flag_id;
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER flag_labels_flagged_at_on_insert BEFORE INSERT ON flag_labels
    FOR EACH ROW EXECUTE FUNCTION flag_labels_flagged_at_from_flag()
    """,
]
POSTGRESQL_DOWN = [
    "DROP TRIGGER IF EXISTS flag_labels_flagged_at_on_insert ON flag_labels",
    "DROP FUNCTION IF EXISTS flag_labels_flagged_at_from_flag()",
]
SQLITE_UP = [
    """
    CREATE TRIGGER flag_labels_flagged_at_on_insert AFTER INSERT ON flag_labels
    FOR EACH ROW WHEN NEW.flagged_at IS NULL
    BEGIN
        UPDATE flag_labels SET flagged_at = (SELECT flagged_at FROM flags WHERE id = NEW.flag_id)
        WHERE flag_id = NEW.flag_id AND label = NEW.label;
    END
    """,
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS flag_labels_flagged_at_on_insert"]


def upgrade() -> None:
    op.add_column("flag_labels", sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE flag_labels SET flagged_at = (SELECT flagged_at FROM flags WHERE flags.id = flag_labels.flag_id)"
    )
    for name in OLD_INDEXES:
        op.drop_index(name, table_name="flag_labels")
    for name, columns in NEW_INDEXES.items():
        op.create_index(name, "flag_labels", columns)
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_UP if postgresql else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_DOWN if postgresql else SQLITE_DOWN:
        op.execute(statement)
    for name in NEW_INDEXES:
        op.drop_index(name, table_name="flag_labels")
    for name, columns in OLD_INDEXES.items():
        op.create_index(name, "flag_labels", columns)
    op.drop_column("flag_labels", "flagged_at")
