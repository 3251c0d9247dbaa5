"""The classifier's language on a flag reaches the desk's routing (language → team), and a flag raised for
review (no labels: a language the classifier does not cover) is stored and routed like any other, on
SQLite and PostgreSQL. The language is stored on the flag (`flags.language`, migration 0011), replaced by a
newer verdict, returned by the API and the live stream, and preselects the flag page's reply language when
templates are written in it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, select
from triage_api.dashboard.stream import payload
from triage_api.db import make_engine, make_sessionmaker
from triage_api.flags import relabel
from triage_api.flags.models import Flag
from triage_api.routing.service import RoutingConfig, facts_of_flag
from triage_events import Label, Severity

from tests.integration.desk_support import FakePublisher, make_app, running_desk
from tests.integration.test_desk_dashboard import sign_in
from tests.integration.test_desk_routing import CONFIG, MONDAY_NOON, flag, routed
from tests.integration.test_queue_order import all_indexes
from tests.integration.test_queue_pagination import alembic


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


def selected_language(page: str) -> str:
    """The reply language the flag page's selector starts on."""
    selector = re.search(r'<select name="language" id="reply-language">(.*?)</select>', page, re.S)
    assert selector
    [code] = re.findall(r'<option value="([^"]+)" selected>', selector.group(1))
    return code


def shown_language(page: str) -> str:
    match = re.search(r'<span id="comment-language">(.*?)</span>', page, re.S)
    assert match
    return match.group(1)


async def test_the_language_is_stored_returned_and_preselects_the_reply_templates(database_url: str) -> None:
    spanish = identified(None, "es", occurred_at=datetime.now(UTC) - timedelta(minutes=5))
    german = identified(None, "de")  # no template is written in German
    unknown = identified(None, None)
    async with running_desk(make_app(database_url, FakePublisher())) as desk:
        desk.add_flags(spanish, german, unknown)

        api = {
            str(e.event_id): (await desk.client.get(f"/api/flags/{e.event_id}", headers=desk.auth("viewer")))
            for e in (spanish, german, unknown)
        }
        assert [r.status_code for r in api.values()] == [200, 200, 200]
        assert [r.json()["language"] for r in api.values()] == ["es", "de", None]
        with desk.app.state.sessionmaker() as db:
            assert payload(db.get(Flag, str(spanish.event_id)))["language"] == "es"  # the live stream's

        async with sign_in(desk, "moderator") as browser:
            page = (await browser.get(f"/flags/{spanish.event_id}")).text
            assert shown_language(page) == "written in Spanish (es)"
            assert selected_language(page) == "es"
            spanish_bodies = re.findall(
                r'<div class="template-body" data-language="es" lang="es" ([^>]*)>', page
            )
            assert spanish_bodies and all("hidden" not in b for b in spanish_bodies)
            assert re.findall(r'data-language="en" lang="en" hidden', page)

            page = (await browser.get(f"/flags/{german.event_id}")).text
            assert shown_language(page) == "written in German (de)"
            assert selected_language(page) == "en"  # the account's language

            page = (await browser.get(f"/flags/{unknown.event_id}")).text
            assert shown_language(page).startswith("language not identified")
            assert selected_language(page) == "en"

        # A newer verdict (the comment edited into French) replaces the language, and routing reads it.
        edited = identified(
            None,
            "fr",
            comment_key=spanish.comment_key,
            comment=spanish.comment.model_copy(update={"text": "Vous êtes tous des clowns inutiles"}),
            occurred_at=datetime.now(UTC),
        )
        with desk.app.state.sessionmaker() as db, db.begin():
            [result] = relabel.apply_all(db, desk.app.state.router, [edited])
            assert result.outcome is relabel.Outcome.RELABELLED
        with desk.app.state.sessionmaker() as db:
            stored = db.get(Flag, str(spanish.event_id))
            assert stored is not None and stored.language == "fr"
            assert facts_of_flag(db, stored)["language"] == {"fr"}
        r = await desk.client.get(f"/api/flags/{spanish.event_id}", headers=desk.auth("viewer"))
        assert r.json()["language"] == "fr"


def test_a_language_that_is_not_a_tag_is_not_stored(database_url: str) -> None:
    config = RoutingConfig.model_validate(CONFIG)
    events = [identified(None, "x" * 40), identified(None, "es<script>")]

    assert [r[0] for r in routed(database_url, events, MONDAY_NOON, config)] == ["social", "social"]
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as db:
            assert [f.language for f in db.scalars(select(Flag)).all()] == [None, None]
    finally:
        engine.dispose()


def test_migration_0011_keeps_the_queue_indexes(database_url: str) -> None:
    queue = {"ix_flags_priority", "ix_flags_due", "ix_flags_account_id_thread_id"}
    alembic(database_url, "upgrade", "head")
    assert queue <= all_indexes(database_url) and "language" in columns(database_url)
    alembic(database_url, "downgrade", "0010")
    assert queue <= all_indexes(database_url) and "language" not in columns(database_url)
    alembic(database_url, "upgrade", "head")
    assert queue <= all_indexes(database_url) and "language" in columns(database_url)


def columns(database_url: str) -> set[str]:
    engine = make_engine(database_url)
    try:
        return {str(c["name"]) for c in inspect(engine).get_columns("flags")}
    finally:
        engine.dispose()
