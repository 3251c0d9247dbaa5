"""Routing on SQLite and PostgreSQL: rules pick the team (label, severity, platform, account, language),
business hours switch to the after-hours team, and assignment is round-robin or least-open from what the
database holds; the flag consumer routes in the same transaction as it stores."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from triage_api.db import make_engine, make_sessionmaker, migrate
from triage_api.flags.models import Flag
from triage_api.flags.service import store_flags
from triage_api.routing.service import RoutingConfig, route
from triage_bus.embedded import EmbeddedBroker
from triage_bus.profile import BrokerProfile
from triage_events import FLAGS, Label, Platform, Severity, encode

from tests.builders import make_comment, make_comment_body, make_flag
from tests.integration.desk_support import desk_settings, running_desk
from tests.integration.helpers import eventually, produce

pytestmark = pytest.mark.integration

CONFIG: dict[str, Any] = {
    "timezone": "America/New_York",
    "business_hours": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"},
    "default_team": "social",
    "teams": {
        "oncall": {"members": ["olga", "omar"], "strategy": "least_open"},
        "privacy": {"members": ["pia"], "after_hours": "oncall"},
        "spanish": {"members": ["sofia", "santi"], "strategy": "round_robin"},
        "social": {"members": ["ana", "ben", "cy"], "strategy": "round_robin"},
    },
    "rules": [
        {"match": {"label": "urgent"}, "team": "oncall"},
        {"match": {"label": "privacy"}, "team": "privacy"},
        {"match": {"language": "es"}, "team": "spanish"},
        {"match": {"severity": ["high", "critical"], "platform": "x"}, "team": "oncall"},
    ],
}
MONDAY_NOON = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # 12:00 in New York
SATURDAY = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)


def flag(labels: list[Label], language: str | None = None, **overrides: Any) -> Any:
    body = make_comment_body(text="some comment", language=language)
    comment = make_comment(comment=body, platform=overrides.pop("platform", Platform.FACEBOOK))
    return make_flag(comment=comment, labels=labels, **overrides)


def routed(
    database_url: str, events: list[Any], at: datetime, config: RoutingConfig
) -> list[tuple[Any, ...]]:
    engine = make_engine(database_url)
    migrate(engine)
    factory = make_sessionmaker(engine)
    try:
        for event in events:  # one batch each, as the consumer would see them over time
            with factory() as db, db.begin():
                stored: list[Any] = []
                store_flags(db, [event], stored)
                route(db, config, stored, at)
        with factory() as db:
            rows = {f.id: f for f in db.scalars(select(Flag)).all()}
        return [
            (rows[str(e.event_id)].team, rows[str(e.event_id)].assignee, rows[str(e.event_id)].status)
            for e in events
        ]
    finally:
        engine.dispose()


def test_rules_pick_the_team_and_round_robin_assigns(database_url: str) -> None:
    config = RoutingConfig.model_validate(CONFIG)
    events = [
        flag([Label.HOSTILE]),
        flag([Label.SPAM]),
        flag([Label.HOSTILE]),
        flag([Label.HOSTILE]),
        flag([Label.CLINICAL_ADVICE], language="es"),
        flag([Label.PRIVACY, Label.HOSTILE], severity=Severity.HIGH),
        flag([Label.HOSTILE], severity=Severity.HIGH, platform=Platform.X),
    ]
    assert routed(database_url, events, MONDAY_NOON, config) == [
        ("social", "ana", "assigned"),
        ("social", "ben", "assigned"),
        ("social", "cy", "assigned"),
        ("social", "ana", "assigned"),
        ("spanish", "sofia", "assigned"),
        ("privacy", "pia", "assigned"),
        ("oncall", "olga", "assigned"),
    ]


def test_least_open_and_after_hours_fallback(database_url: str) -> None:
    config = RoutingConfig.model_validate(CONFIG)
    events = [flag([Label.URGENT], severity=Severity.CRITICAL) for _ in range(3)]
    events.append(flag([Label.PRIVACY], severity=Severity.HIGH))  # Saturday: privacy → on-call
    assert [r[:2] for r in routed(database_url, events, SATURDAY, config)] == [
        ("oncall", "olga"),
        ("oncall", "omar"),
        ("oncall", "olga"),
        ("oncall", "omar"),
    ]


def test_a_team_without_members_keeps_the_flag_new() -> None:
    config = RoutingConfig.load(None)  # the bundled example: teams named, nobody in them
    assert config.team_for(flag([Label.URGENT]), MONDAY_NOON) == "oncall"
    assert config.team_for(flag([Label.MISINFORMATION]), SATURDAY) == "social"  # after hours
    with pytest.raises(ValueError, match="unknown teams"):
        RoutingConfig.model_validate({**CONFIG, "default_team": "nobody"})


async def test_the_consumer_routes_flags_as_it_stores_them(
    database_url: str, fresh_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    always_open = {
        **CONFIG,
        "business_hours": {
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "00:00",
            "end": "23:59:59",
        },
    }
    rules = tmp_path / "routing.yaml"
    rules.write_text(yaml.safe_dump(always_open))
    from triage_api.main import create_app

    app = create_app(
        desk_settings(database_url, consumer_enabled=True, routing_file=rules),
        BrokerProfile(fresh_broker.bootstrap_servers, embedded=True),
    )
    async with running_desk(app) as desk:
        event = flag([Label.URGENT], severity=Severity.CRITICAL)
        await produce(
            fresh_broker.bootstrap_servers, FLAGS.name, [(event.comment_key.encode(), encode(event))]
        )

        async def stored() -> dict[str, Any] | None:
            r = await desk.client.get(f"/api/flags/{event.event_id}", headers=desk.auth("viewer"))
            return r.json() if r.status_code == 200 else None

        detail = await eventually(stored, 60, "the routed flag")
        assert (detail["team"], detail["assignee"], detail["status"]) == ("oncall", "olga", "assigned")
        routing = (await desk.client.get("/api/routing", headers=desk.auth("viewer"))).json()
        assert routing["sla_seconds"] == {"critical": 300, "high": 1800, "medium": 14400, "low": 86400}
