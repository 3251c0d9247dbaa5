"""The ingest app on the embedded broker: a signed Meta delivery lands on triage.comments.v1; a forged one
is refused and publishes nothing."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest
from triage_bus.embedded import EmbeddedBroker
from triage_bus.profile import BrokerProfile
from triage_events import COMMENTS, CommentReceived, decode
from triage_ingest.main import create_app

from tests.ingest_support import accounts, body, fb_comment_change, meta_signature, page_delivery, settings
from tests.integration.helpers import read_all

pytestmark = pytest.mark.integration


async def test_signed_delivery_is_published_and_forged_is_not(broker: EmbeddedBroker) -> None:
    app = create_app(settings(), BrokerProfile(broker.bootstrap_servers, embedded=True), accounts())
    good_id, forged_id = f"1_{uuid4().hex}", f"1_{uuid4().hex}"
    good = body(page_delivery(fb_comment_change(comment_id=good_id)))
    forged = body(page_delivery(fb_comment_change(comment_id=forged_id)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            ok = await client.post(
                "/webhooks/meta", content=good, headers={"X-Hub-Signature-256": meta_signature(good)}
            )
            bad = await client.post(
                "/webhooks/meta",
                content=forged,
                headers={"X-Hub-Signature-256": meta_signature(forged, "guess")},
            )
    assert ok.status_code == 200 and ok.json() == {"received": 1}
    assert bad.status_code == 403
    # Published before the 200: the record is on the topic as soon as the answer is.
    records = await read_all(broker.bootstrap_servers, COMMENTS.name)
    ids = [decode(CommentReceived, r.value).comment.platform_comment_id for r in records]
    assert ids.count(good_id) == 1
    assert forged_id not in ids
    [record] = [r for r in records if decode(CommentReceived, r.value).comment.platform_comment_id == good_id]
    assert record.key == decode(CommentReceived, record.value).comment_key.encode()  # keyed by comment
    assert record.key.startswith(b"facebook:") and record.key.endswith(good_id.encode())
