"""REST route showing the routing configuration in force."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from triage_api.deps import ViewerDep
from triage_api.flags.sla import SLA

router = APIRouter(prefix="/api/routing", tags=["routing"])


@router.get("")
def routing_route(request: Request, _: ViewerDep) -> dict[str, Any]:
    """Teams, rules, business hours and the SLA per severity."""
    config = request.app.state.routing.model_dump(mode="json")
    config["sla_seconds"] = {severity: int(delta.total_seconds()) for severity, delta in SLA.items()}
    return config
