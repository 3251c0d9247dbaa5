"""What a platform client is to the actions worker: one call per action, errors that say whether to retry."""

from __future__ import annotations

from typing import Protocol

from triage_events import ActionRequested


class ActionFailed(Exception):
    """The platform refused or could not do it. `reason` is a short code; `transient` means try again;
    `maybe_applied` means the request reached the platform and may have taken effect anyway (a 5xx answer, a
    timeout while waiting for one), so only an idempotent action may be sent again."""

    def __init__(
        self, reason: str, transient: bool, retry_after: float | None = None, maybe_applied: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.retry_after = retry_after
        self.maybe_applied = maybe_applied


class PlatformClient(Protocol):
    async def execute(self, request: ActionRequested) -> str | None:
        """Do it; return the platform's id for what was created (a reply), if any. Raise `ActionFailed`."""
        ...


class DryRun:
    """Does nothing: the default for demos, so nothing reaches a real account by accident."""

    async def execute(self, request: ActionRequested) -> str | None:
        return None
