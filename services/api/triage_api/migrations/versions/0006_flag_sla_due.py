"""The SLA due time and the last update time, stored on the flag.

`sla_due_at` is the one due time the desk works to: set when a flag is stored (flagged time plus its
severity's SLA), restarted by an escalation, a raised severity or a classifier verdict that raises it, kept by
a manual re-route. Until now it was computed from the severity, and a restarted clock lived only in the
`flag.rerouted` audit entries; the backfill takes the latest of those where there is one, else the flagged
time plus the SLA of the flag's severity: 5 min, 30 min, 4 h, 24 h by default, or the targets in
`TRIAGE_API_SLA_CRITICAL_S`, `_HIGH_S`, `_MEDIUM_S`, `_LOW_S` where the environment running the migration
sets them (as the API does). `updated_at` is when the flag was stored or last relabelled, re-routed or had
its severity raised: the live queue stream follows it (backfilled from `stored_at`).

Indexes: (status, sla_due_at) for the SLA breach gauge (new flags past their due time), (updated_at, id) for
the live queue stream's poll. Both columns stay nullable (a row written by an older replica during a rolling
upgrade has none; readers fall back to the flagged time plus the SLA).

Create Date: 2026-12-07
"""

import os
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

DEFAULT_SLA_SECONDS = {"critical": 300, "high": 1800, "medium": 4 * 3600, "low": 24 * 3600}
INDEXES = {
    "ix_flags_status_sla_due_at": ["status", "sla_due_at"],
    "ix_flags_updated_at_id": ["updated_at", "id"],
}

flags = sa.table(
    "flags",
    sa.column("id", sa.String()),
    sa.column("sla_due_at", sa.DateTime(timezone=True)),
)
audit_events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("flag_id", sa.String()),
    sa.column("action", sa.String()),
    sa.column("detail", sa.JSON()),
)


def upgrade() -> None:
    with op.batch_alter_table("flags") as batch:
        batch.add_column(sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE flags SET updated_at = stored_at")
    _backfill_due_times()
    for name, columns in INDEXES.items():
        op.create_index(name, "flags", columns)


def downgrade() -> None:
    # The restarted clocks stay in the `flag.rerouted` audit entries, where 0005's code reads them.
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="flags")
    with op.batch_alter_table("flags") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("sla_due_at")


def _targets() -> dict[str, int]:
    targets = dict(DEFAULT_SLA_SECONDS)
    for severity in targets:
        configured = os.environ.get(f"TRIAGE_API_SLA_{severity.upper()}_S", "").strip()
        if configured:
            targets[severity] = round(float(configured))
    return targets


def _backfill_due_times() -> None:
    targets = _targets()
    seconds = " ".join(f"WHEN '{severity}' THEN {s}" for severity, s in targets.items())
    seconds = f"(CASE severity {seconds} ELSE {targets['low']} END)"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"UPDATE flags SET sla_due_at = flagged_at + {seconds} * interval '1 second'")
    else:
        # SQLite keeps times as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): add whole seconds, keep the fraction.
        op.execute(
            "UPDATE flags SET sla_due_at = strftime('%Y-%m-%d %H:%M:%S', flagged_at, "
            f"'+' || {seconds} || ' seconds') || substr(flagged_at, 20)"
        )
    # A clock restarted by an escalation: the due time of the flag's latest `flag.rerouted` entry with one.
    restarted: dict[str, datetime] = {}
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(audit_events.c.flag_id, audit_events.c.detail)
        .where(audit_events.c.action == "flag.rerouted", audit_events.c.flag_id.is_not(None))
        .order_by(audit_events.c.id)
    )
    for flag_id, detail in rows:
        due = detail.get("due_at") if isinstance(detail, dict) else None
        if isinstance(due, str):
            at = datetime.fromisoformat(due)
            restarted[flag_id] = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    if restarted:
        bind.execute(
            flags.update()
            .where(flags.c.id == sa.bindparam("flag_id"))
            .values(sla_due_at=sa.bindparam("due")),
            [{"flag_id": flag_id, "due": due} for flag_id, due in restarted.items()],
        )
