"""The classifier's language on a flag reaches the desk's routing (language → team), and a flag raised for
review (no labels: a language the classifier does not cover) is stored and routed like any other, on
SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from triage_api.db import make_engine, make_sessionmaker
from triage_api.flags.models import Flag
from triage_api.routing.service import RoutingConfig
from triage_events import Label, Severity

from tests.integration.test_desk_routing import CONFIG, MONDAY_NOON, flag, routed


def identified(platform_language: str | None, language: str | None, **update: Any) -> Any:
    """A clinical-advice flag whose platform said `platform_language` and whose text the classifier
    identified as `language`."""
    event = flag([Label.CLINICAL_ADVICE], language=platform_language)
    return event.model_copy(update={"language": language, **update})


pytestmark = pytest.mark.integration


def test_routing_reads_the_language_the_classifier_identified(database_url: str) -> None:
    config = RoutingConfig.model_validate(CONFIG)
    events = [
        identified(None, "es"),
        identified("en", "es"),  # the text wins
        identified("es", None),  # else the platform's
        identified(None, "vi"),
    ]

    assert [r[0] for r in routed(database_url, events, MONDAY_NOON, config)] == [
        "spanish",
        "spanish",
        "spanish",
        "social",
    ]


def test_a_review_flag_without_labels_is_stored_and_routed(database_url: str) -> None:
    config = RoutingConfig.model_validate(CONFIG)
    review = identified(
        None,
        "de",
        labels=[],
        scores={},
        evidence=[],
        suggested_templates=[],
        severity=Severity.LOW,
        review_reason="unsupported_language",
    )

    [(team, assignee, status)] = routed(database_url, [review], MONDAY_NOON, config)

    assert (team, status) == ("social", "assigned") and assignee in {"ana", "ben", "cy"}
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as db:
            stored = db.scalars(select(Flag)).one()
            assert (stored.labels, stored.primary_label, stored.severity) == ([], "needs_review", "low")
    finally:
        engine.dispose()
