"""The LinkedIn webhook receiver: challenge validation, `X-LI-Signature`, comment notifications."""

from __future__ import annotations

import hashlib
import hmac

from triage_events import CommentChange, CommentKind, Platform

from tests.ingest_support import (
    LINKEDIN_ORG,
    LINKEDIN_SECRET,
    app_client,
    body,
    linkedin_delivery,
    linkedin_notification,
    linkedin_signature,
)


async def test_challenge_is_answered_with_the_hmac_of_the_code() -> None:
    client, _ = app_client()
    async with client:
        response = await client.get(
            "/webhooks/linkedin", params={"challengeCode": "890e4665-4dfe-4ab1-b689-ed553bceeed0"}
        )
        missing = await client.get("/webhooks/linkedin")
    expected = hmac.new(
        LINKEDIN_SECRET.encode(), b"890e4665-4dfe-4ab1-b689-ed553bceeed0", hashlib.sha256
    ).hexdigest()
    assert response.status_code == 200
    assert response.json() == {
        "challengeCode": "890e4665-4dfe-4ab1-b689-ed553bceeed0",
        "challengeResponse": expected,
    }
    assert missing.status_code == 400


async def test_comment_edit_delete_and_ignored_actions() -> None:
    comment = "urn:li:comment:(urn:li:activity:1,2)"
    raw = body(
        linkedin_delivery(
            linkedin_notification(1, "COMMENT", comment=comment, last_modified=1767225600000),
            linkedin_notification(2, "LIKE"),
            linkedin_notification(3, "ADMIN_COMMENT"),
            linkedin_notification(
                4, "COMMENT_EDIT", text="edited", comment=comment, last_modified=1767225700000
            ),
            linkedin_notification(
                5, "COMMENT_DELETE", text=None, comment=comment, last_modified=1767225800000
            ),
            linkedin_notification(6, "SHARE_MENTION", comment="urn:li:share:77", text="@Brightwater thanks"),
        )
    )
    client, producer = app_client()
    async with client:
        response = await client.post(
            "/webhooks/linkedin", content=raw, headers={"X-LI-Signature": linkedin_signature(raw)}
        )
        again = await client.post(
            "/webhooks/linkedin", content=raw, headers={"X-LI-Signature": linkedin_signature(raw)}
        )
    assert response.status_code == again.status_code == 200
    events = producer.comments()
    assert [(e.change, e.comment.kind) for e in events] == [
        (CommentChange.CREATED, CommentKind.COMMENT),
        (CommentChange.EDITED, CommentKind.COMMENT),
        (CommentChange.DELETED, CommentKind.COMMENT),
        (CommentChange.CREATED, CommentKind.MENTION),
    ]
    first = events[0]
    assert first.platform is Platform.LINKEDIN
    assert first.account.id == LINKEDIN_ORG and first.account.handle == "brightwater-health"
    assert first.comment.platform_comment_id == comment
    assert first.comment.author.id == "urn:li:person:Ylpq-RobP9"
    assert first.comment.created_at.timestamp() == 1767225600


async def test_forged_or_missing_signature_publishes_nothing() -> None:
    raw = body(linkedin_delivery(linkedin_notification()))
    client, producer = app_client()
    async with client:
        forged = await client.post(
            "/webhooks/linkedin", content=raw, headers={"X-LI-Signature": linkedin_signature(raw, "wrong")}
        )
        # The "hmacsha256=" prefix is part of the signed string: a plain HMAC of the body is a forgery.
        plain = hmac.new(LINKEDIN_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        unprefixed = await client.post("/webhooks/linkedin", content=raw, headers={"X-LI-Signature": plain})
        missing = await client.post("/webhooks/linkedin", content=raw)
    assert (forged.status_code, unprefixed.status_code, missing.status_code) == (403, 403, 401)
    assert producer.sent == {}


async def test_comment_without_text_is_dead_lettered() -> None:
    raw = body(linkedin_delivery(linkedin_notification(text=None)))
    client, producer = app_client()
    async with client:
        response = await client.post(
            "/webhooks/linkedin", content=raw, headers={"X-LI-Signature": linkedin_signature(raw)}
        )
    assert response.status_code == 200
    assert producer.comments() == []
    assert [letter.reason for letter in producer.dead_letters()] == ["schema"]
