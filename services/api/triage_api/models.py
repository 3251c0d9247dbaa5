"""All tables, imported in one place so Alembic sees the whole schema."""

from triage_api.audit.models import AuditEvent
from triage_api.comments.models import SeenComment
from triage_api.db import Base
from triage_api.drafts.models import DraftRow
from triage_api.flags.models import Flag, FlagAction, FlagLabel, FlagNote, LabelFeedback
from triage_api.oncall.models import Alert, AlertEvent
from triage_api.outbox import OutboxEntry
from triage_api.staff.models import ApiToken, StaffSession, User

__all__ = [
    "Alert",
    "AlertEvent",
    "ApiToken",
    "AuditEvent",
    "Base",
    "DraftRow",
    "Flag",
    "FlagAction",
    "FlagLabel",
    "FlagNote",
    "LabelFeedback",
    "OutboxEntry",
    "SeenComment",
    "StaffSession",
    "User",
]
