"""`flag_labels.status`: each label row carries its flag's status, and `ix_flag_labels_label_status_flag_id`
(label, status, flag_id) serves a label + status filter and its capped count from one index, without joining
`flags` (issue #23: that count hash-joined tens of thousands of rows at 1,000,000 flags).

The copy is kept by the database, whatever writes: a trigger fills a new label row's status from its flag
when none is given (the API's inserts; the bench's COPY gives it), and another copies a flag's status to its
label rows when it changes. PostgreSQL runs them as PL/pgSQL functions, SQLite as its own triggers. Existing
rows are backfilled. The downgrade drops the triggers, the index and the column.

Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"

INDEX = "ix_flag_labels_label_status_flag_id"

POSTGRESQL_UP = [
    """
    CREATE FUNCTION flag_labels_status_from_flag() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.status IS NULL THEN
            SELECT status INTO NEW.status FROM flags WHERE id = NEW.flag_id;
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER flag_labels_status_on_insert BEFORE INSERT ON flag_labels
    FOR EACH ROW EXECUTE FUNCTION flag_labels_status_from_flag()
    """,
    """
    CREATE FUNCTION flags_status_to_labels() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE flag_labels SET status = NEW.status WHERE flag_id = NEW.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER flags_status_to_labels AFTER UPDATE OF status ON flags
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION flags_status_to_labels()
    """,
]
POSTGRESQL_DOWN = [
    "DROP TRIGGER IF EXISTS flags_status_to_labels ON flags",
    "DROP FUNCTION IF EXISTS flags_status_to_labels()",
    "DROP TRIGGER IF EXISTS flag_labels_status_on_insert ON flag_labels",
    "DROP FUNCTION IF EXISTS flag_labels_status_from_flag()",
]
SQLITE_UP = [
    """
    CREATE TRIGGER flag_labels_status_on_insert AFTER INSERT ON flag_labels
    FOR EACH ROW WHEN NEW.status IS NULL
    BEGIN
        UPDATE flag_labels SET status = (SELECT status FROM flags WHERE id = NEW.flag_id)
        WHERE flag_id = NEW.flag_id AND label = NEW.label;
    END
    """,
    """
    CREATE TRIGGER flags_status_to_labels AFTER UPDATE OF status ON flags
    FOR EACH ROW WHEN OLD.status IS NOT NEW.status
    BEGIN
        UPDATE flag_labels SET status = NEW.status WHERE flag_id = NEW.id;
    END
    """,
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS flags_status_to_labels",
    "DROP TRIGGER IF EXISTS flag_labels_status_on_insert",
]


def upgrade() -> None:
    op.add_column("flag_labels", sa.Column("status", sa.String(16), nullable=True))
    op.execute(
        "UPDATE flag_labels SET status = (SELECT status FROM flags WHERE flags.id = flag_labels.flag_id)"
    )
    op.create_index(INDEX, "flag_labels", ["label", "status", "flag_id"])
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_UP if postgresql else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_DOWN if postgresql else SQLITE_DOWN:
        op.execute(statement)
    op.drop_index(INDEX, table_name="flag_labels")
    op.drop_column("flag_labels", "status")
