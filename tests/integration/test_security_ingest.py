"""Ingest holes found by the outside test (issue #17), through the real ingest app on the embedded broker:
LinkedIn's validation endpoint must not sign a delivery for anyone who asks, and a malformed change in a
signed Meta batch is dead-lettered alone, its text masked, with no valid sibling's text on the DLQ."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import uuid4

import httpx
import pytest
from triage_bus.embedded import EmbeddedBroker
from triage_bus.profile import BrokerProfile
from triage_events import COMMENTS, DLQ, CommentReceived, DeadLetter, decode
from triage_ingest.main import create_app

from tests.ingest_support import (
    LINKEDIN_SECRET,
    PAGE_ID,
    accounts,
    body,
    fb_comment_change,
    linkedin_delivery,
    linkedin_notification,
    linkedin_signature,
    meta_signature,
    page_delivery,
    settings,
)
from tests.integration.helpers import read_all

pytestmark = pytest.mark.integration

CRISIS = "I want to kill myself tonight"


@asynccontextmanager
async def ingest(broker: EmbeddedBroker) -> AsyncIterator[httpx.AsyncClient]:
    """The real ingest app, started with its lifespan (publisher connected to the broker)."""
    app = create_app(settings(), BrokerProfile(broker.bootstrap_servers, embedded=True), accounts())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            yield client


async def comment_ids(broker: EmbeddedBroker) -> list[str]:
    records = await read_all(broker.bootstrap_servers, COMMENTS.name, idle=0.5)
    return [decode(CommentReceived, r.value).comment.platform_comment_id for r in records]


async def test_the_linkedin_challenge_cannot_be_used_to_sign_a_forged_delivery(
    broker: EmbeddedBroker,
) -> None:
    comment = f"urn:li:comment:(urn:li:activity:1,{uuid4().int})"
    forged = body(linkedin_delivery(linkedin_notification(7001, "COMMENT", text=CRISIS, comment=comment)))
    deleted = f"urn:li:comment:(urn:li:activity:1,{uuid4().int})"
    forged_delete = body(
        linkedin_delivery(linkedin_notification(7002, "COMMENT_DELETE", text=None, comment=deleted))
    )
    async with ingest(broker) as client:
        statuses = []
        for raw in (forged, forged_delete):
            # The attack: ask the endpoint to HMAC "hmacsha256=" + body, which is what X-LI-Signature is.
            oracle = await client.get(
                "/webhooks/linkedin", params={"challengeCode": "hmacsha256=" + raw.decode()}
            )
            assert oracle.status_code == 400, oracle.text
            assert "challengeResponse" not in oracle.text
            answer = oracle.json().get("challengeResponse") or linkedin_signature(raw, "a guess")
            post = await client.post("/webhooks/linkedin", content=raw, headers={"X-LI-Signature": answer})
            statuses.append(post.status_code)
        # Near misses of the form are refused too: the prefix in other case, a UUID with more after it (a
        # trailing newline included), an over-long code.
        uuid = str(uuid4())
        for code in ("HMACSHA256=" + forged.decode(), uuid + "hmacsha256=", uuid + "\n", uuid * 100):
            refused = await client.get("/webhooks/linkedin", params={"challengeCode": code})
            assert refused.status_code == 400, code[:60]
        # LinkedIn's own validation still works: a UUID code is answered with its HMAC, and that answer is
        # no delivery's signature.
        genuine = await client.get("/webhooks/linkedin", params={"challengeCode": uuid})
        assert genuine.status_code == 200
        answer = genuine.json()["challengeResponse"]
        assert answer == hmac.new(LINKEDIN_SECRET.encode(), uuid.encode(), hashlib.sha256).hexdigest()
        as_signature = await client.post(
            "/webhooks/linkedin", content=forged, headers={"X-LI-Signature": answer}
        )
    assert statuses == [403, 403]
    assert as_signature.status_code == 403
    ids = await comment_ids(broker)
    assert comment not in ids and deleted not in ids


async def test_a_malformed_change_is_dead_lettered_alone_without_its_siblings_text(
    broker: EmbeddedBroker,
) -> None:
    good_id, bad_id = f"1_{uuid4().hex}", f"1_{uuid4().hex}"
    bad_text = "my MRN is 77712345 and my chemo starts Monday"
    good = fb_comment_change(comment_id=good_id, message=CRISIS)
    bad = fb_comment_change(comment_id=bad_id, message=bad_text, created_time="last Monday")  # not a time
    bad["value"]["from"] = {"id": "6212345678901234", "name": "Rosa Delgado"}
    raw = body(page_delivery(good, bad))
    async with ingest(broker) as client:
        response = await client.post(
            "/webhooks/meta", content=raw, headers={"X-Hub-Signature-256": meta_signature(raw)}
        )
    assert response.status_code == 200, response.text

    records = await read_all(broker.bootstrap_servers, COMMENTS.name, idle=0.5)
    published = [decode(CommentReceived, r.value) for r in records]
    [event] = [e for e in published if e.comment.platform_comment_id == good_id]
    assert event.comment.text == CRISIS
    assert bad_id not in [e.comment.platform_comment_id for e in published]

    letters = [
        decode(DeadLetter, r.value) for r in await read_all(broker.bootstrap_servers, DLQ.name, idle=0.5)
    ]
    mine = [
        d
        for d in letters
        if d.topic == "webhook:meta" and bad_id in base64.b64decode(d.value_b64 or "").decode()
    ]
    [letter] = mine
    value = base64.b64decode(letter.value_b64 or "").decode()
    on_the_dlq = value + letter.error + json.dumps(letter.model_dump(mode="json"))
    # The valid sibling is not there at all: neither its text nor its id.
    assert CRISIS not in on_the_dlq and good_id not in on_the_dlq
    # The bad part's own text and author name are masked; what finds it on the platform stays.
    assert "chemo" not in on_the_dlq and "77712345" not in on_the_dlq and "Rosa" not in on_the_dlq
    part = json.loads(value)
    assert part["field"] == "feed"
    assert (part["value"]["comment_id"], part["value"]["verb"], part["value"]["item"]) == (
        bad_id,
        "add",
        "comment",
    )
    assert part["value"]["message"] == "[masked]"
    assert part["value"]["from"] == {"id": "6212345678901234", "name": "[masked]"}
    assert part["value"]["post_id"] == f"{PAGE_ID}_998877665544332"
    assert (letter.service, letter.reason) == ("ingest", "schema")
    assert letter.error.startswith("entry[0].changes[1]: ")
