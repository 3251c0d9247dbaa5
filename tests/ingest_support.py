"""What the ingest tests share: the webhook accounts and settings, the real ingest app with an in-memory
producer, and the webhook deliveries (shapes as the platforms document them) with their signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
from prometheus_client import REGISTRY
from triage_bus.profile import BrokerProfile
from triage_ingest.accounts import AccountConfig, Accounts
from triage_ingest.config import IngestSettings
from triage_ingest.main import create_app
from triage_ingest.publisher import Publisher

from tests.fakes.producer import InMemoryProducer

APP_SECRET = "meta-app-secret-0b1c"
VERIFY_TOKEN = "verify-me-6f2d"
LINKEDIN_SECRET = "li-client-secret-93ae"
PAGE_ID = "104512345678901"
IG_USER_ID = "17841400000000000"
LINKEDIN_ORG = "2414183"


def accounts() -> Accounts:
    return Accounts(
        [
            AccountConfig(platform="facebook", id=PAGE_ID, handle="@brightwaterhealth"),
            AccountConfig(platform="instagram", id=IG_USER_ID, handle="@brightwater"),
            AccountConfig(platform="linkedin", id=LINKEDIN_ORG, handle="brightwater-health"),
        ]
    )


def settings(**overrides: Any) -> IngestSettings:
    fields: dict[str, Any] = {
        "meta_app_secret": APP_SECRET,
        "meta_verify_token": VERIFY_TOKEN,
        "linkedin_client_secret": LINKEDIN_SECRET,
        "actions_enabled": False,
        "max_body_bytes": 64_000,
    }
    return IngestSettings(**{**fields, **overrides})


def app_client(**overrides: Any) -> tuple[httpx.AsyncClient, InMemoryProducer]:
    """The real ingest app (no lifespan: no broker) with its producer swapped for an in-memory one."""
    app = create_app(settings(**overrides), BrokerProfile("127.0.0.1:1", embedded=True), accounts())
    producer = InMemoryProducer()
    publisher: Publisher = app.state.publisher
    publisher._producer = producer  # type: ignore[assignment]
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest")
    return client, producer


def body(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def meta_signature(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def linkedin_signature(raw: bytes, secret: str = LINKEDIN_SECRET) -> str:
    return hmac.new(secret.encode(), b"hmacsha256=" + raw, hashlib.sha256).hexdigest()


def fb_comment_change(
    comment_id: str = "998877665544332_112233445566778",
    verb: str = "add",
    message: str | None = "What time does the pharmacy close on Sundays?",
    **overrides: Any,
) -> dict[str, Any]:
    """A Page `feed` change for a comment, as in Meta's sample (values illustrative)."""
    value: dict[str, Any] = {
        "from": {"id": "6212345678901234", "name": "Jane Doe"},
        "item": "comment",
        "verb": verb,
        "post_id": f"{PAGE_ID}_998877665544332",
        "comment_id": comment_id,
        "parent_id": f"{PAGE_ID}_998877665544332",
        "created_time": 1767225598,
        "is_hidden": False,
        "post": {
            "id": f"{PAGE_ID}_998877665544332",
            "status_type": "added_photos",
            "is_published": True,
            "updated_time": "2026-01-01T00:00:00+0000",
            "permalink_url": "https://www.facebook.com/brightwater/posts/998877665544332",
        },
    }
    if message is not None:
        value["message"] = message
    value.update(overrides)
    return {"field": "feed", "value": value}


def page_delivery(*changes: dict[str, Any], time: int = 1767225600, page_id: str = PAGE_ID) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": page_id, "time": time, "changes": list(changes)}]}


def ig_comment_change(comment_id: str = "18012345678901234", **overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "id": comment_id,
        "from": {"id": "17850000000000000", "username": "jane.d"},
        "text": "Is it true the flu shot gives you the flu? @brightwater",
        "media": {"id": "17918195224117851", "media_product_type": "FEED"},
    }
    value.update(overrides)
    return {"field": "comments", "value": value}


def ig_delivery(*changes: dict[str, Any], time: int = 1767225600) -> dict[str, Any]:
    return {"object": "instagram", "entry": [{"id": IG_USER_ID, "time": time, "changes": list(changes)}]}


def linkedin_notification(
    notification_id: int = 1001,
    action: str = "COMMENT",
    text: str | None = "Does your clinic take walk-ins for flu shots?",
    comment: str = "urn:li:comment:(urn:li:activity:6856354865000017920,6856355070172749824)",
    last_modified: int = 1767225600000,
) -> dict[str, Any]:
    decorated: dict[str, Any] = {"comment": {"entity": comment, "owner": "urn:li:person:Ylpq-RobP9"}}
    if text is not None:
        decorated["comment"]["text"] = text
    return {
        "notificationId": notification_id,
        "organizationalEntity": f"urn:li:organization:{LINKEDIN_ORG}",
        "action": action,
        "sourcePost": "urn:li:share:6856354865000017920",
        "generatedActivity": comment,
        "decoratedGeneratedActivity": decorated,
        "lastModifiedAt": last_modified,
        "subscriber": "urn:li:person:abc123",
    }


def linkedin_delivery(*notifications: dict[str, Any]) -> dict[str, Any]:
    return {"type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS", "notifications": list(notifications)}


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0
