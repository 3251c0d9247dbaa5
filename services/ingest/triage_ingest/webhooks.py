"""Webhook receivers (`/webhooks/meta`, `/webhooks/linkedin`): verify, normalise, publish, then answer.

Order per delivery: size limit (413) -> signature over the raw bytes (401 missing, 403 wrong) -> UTF-8 and
JSON (400) -> normalise -> fetch what a notification only names (Instagram mentions) -> publish every event
and dead-letter every unusable part, each acknowledged by the broker -> 200. If the broker fails the answer
is 503, so the platform delivers again (and the publisher's dedup absorbs whatever did get through). A
receiver without its secret answers 503: unsigned input is never accepted. A dead letter holds the one
unusable part (a change, an entry or a notification) with its text masked and its place in the delivery,
never the whole body: the comments beside it in the batch are published, not copied to the DLQ.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from triage_bus.dlq import dead_letter_part

from triage_ingest import metrics
from triage_ingest.accounts import UNKNOWN_ACCOUNT, Accounts
from triage_ingest.config import IngestSettings
from triage_ingest.publisher import Publisher
from triage_ingest.sources import linkedin, meta
from triage_ingest.sources.base import Batch, part_at
from triage_ingest.sources.meta_mentions import MentionFetcher

log = logging.getLogger(__name__)


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (before reading it all) anything over `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def _refuse(platform: str, status: int, reason: str) -> Response:
    metrics.ERRORS.labels(platform, "unknown", reason).inc()
    log.warning("webhook refused platform=%s status=%d reason=%s", platform, status, reason)
    return JSONResponse({"error": reason}, status_code=status)


class Receiver:
    """One platform's POST handling, parametrised by its signature check and normaliser."""

    def __init__(
        self,
        name: str,
        secret: Callable[[], str | None],
        signature_header: str,
        valid: Callable[[bytes, str | None, str], bool],
        normalise: Callable[[Any, Accounts], Batch],
        settings: IngestSettings,
        accounts: Accounts,
        publisher: Publisher,
        enrich: Callable[[Any, Batch, Accounts], Awaitable[None]] | None = None,
    ) -> None:
        """`enrich` completes a batch before it is delivered (Meta: fetching the text of IG mentions)."""
        self.name = name
        self._secret = secret
        self._header = signature_header
        self._valid = valid
        self._normalise = normalise
        self._settings = settings
        self._accounts = accounts
        self._publisher = publisher
        self._enrich = enrich

    async def __call__(self, request: Request) -> Response:
        started = time.perf_counter()
        try:
            return await self._handle(request)
        finally:
            metrics.WEBHOOK_LATENCY.labels(self.name).observe(time.perf_counter() - started)

    async def _handle(self, request: Request) -> Response:
        secret = self._secret()
        if not secret:
            return _refuse(self.name, 503, "not_configured")
        try:
            body = await _read_body(request, self._settings.max_body_bytes)
        except _TooLarge:
            return _refuse(self.name, 413, "too_large")
        signature = request.headers.get(self._header)
        if not signature:
            return _refuse(self.name, 401, "unsigned")
        if not self._valid(body, signature, secret):
            return _refuse(self.name, 403, "bad_signature")
        try:
            payload = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            return _refuse(self.name, 400, "not_utf8")
        except (json.JSONDecodeError, RecursionError):
            return _refuse(self.name, 400, "not_json")
        batch = self._normalise(payload, self._accounts)
        try:
            if self._enrich is not None:
                await self._enrich(payload, batch, self._accounts)
            await self._deliver(payload, batch)
        except Exception:
            log.exception("webhook publish failed platform=%s", self.name)
            return _refuse(self.name, 503, "publish_failed")
        return JSONResponse({"received": len(batch.events)})

    async def _deliver(self, payload: Any, batch: Batch) -> None:
        for account_id, reason in batch.ignored:
            label = self._label(account_id)
            metrics.IGNORED.labels(self.name, label, reason).inc()
        for problem in batch.problems:
            metrics.ERRORS.labels(self.name, self._label(problem.account_id), problem.reason).inc()
            log.warning(
                "webhook part dead-lettered platform=%s reason=%s where=%s",
                self.name,
                problem.reason,
                problem.where,
            )
            part = part_at(payload, problem.where)
            await self._publisher.dead_letter(
                dead_letter_part(
                    "ingest", f"webhook:{self.name}", part, problem.reason, problem.where, problem.detail
                )
            )
        for event in batch.events:
            dropped = await self._publisher.offer(event)
            log.info(
                "webhook comment platform=%s account=%s change=%s result=%s",
                event.platform.value,
                event.account.id,
                event.change.value,
                dropped or "published",
            )

    def _label(self, account_id: str) -> str:
        return account_id if self._accounts.configured(account_id) else UNKNOWN_ACCOUNT


def router(
    settings: IngestSettings,
    accounts: Accounts,
    publisher: Publisher,
    mentions: MentionFetcher | None = None,
) -> APIRouter:
    """The webhook routes, bound to this service's settings, accounts and publisher; `mentions` fetches
    the text of Instagram mentions (without it they are dead-lettered as `needs_fetch`)."""
    routes = APIRouter(prefix="/webhooks")

    def secret(field: str) -> Callable[[], str | None]:
        def read() -> str | None:
            value = getattr(settings, field)
            return value.get_secret_value() if value is not None else None

        return read

    meta_receiver = Receiver(
        "meta",
        secret("meta_app_secret"),
        meta.SIGNATURE_HEADER,
        meta.signature_valid,
        meta.normalise,
        settings,
        accounts,
        publisher,
        mentions.resolve if mentions is not None else None,
    )
    linkedin_receiver = Receiver(
        "linkedin",
        secret("linkedin_client_secret"),
        linkedin.SIGNATURE_HEADER,
        linkedin.signature_valid,
        linkedin.normalise,
        settings,
        accounts,
        publisher,
    )

    @routes.get("/meta")
    async def meta_verify(request: Request) -> Response:
        """Meta's subscription check: echo `hub.challenge` when `hub.verify_token` is ours."""
        token = secret("meta_verify_token")()
        if not token:
            return _refuse("meta", 503, "not_configured")
        query = request.query_params
        challenge = meta.handshake(
            query.get("hub.mode"), query.get("hub.verify_token"), query.get("hub.challenge"), token
        )
        if challenge is None:
            return _refuse("meta", 403, "bad_verify_token")
        return PlainTextResponse(challenge)

    @routes.get("/linkedin")
    async def linkedin_verify(challengeCode: str | None = None) -> Response:
        """LinkedIn's endpoint validation: HMAC the challenge code with the client secret. Only a UUID is
        signed (anything else is 400): a code like `hmacsha256=<body>` would get a delivery's signature."""
        client_secret = secret("linkedin_client_secret")()
        if not client_secret:
            return _refuse("linkedin", 503, "not_configured")
        if not challengeCode:
            return _refuse("linkedin", 400, "no_challenge")
        if not linkedin.challenge_code_valid(challengeCode):
            return _refuse("linkedin", 400, "challenge_not_uuid")
        return JSONResponse(linkedin.challenge_response(challengeCode, client_secret))

    post: Callable[[Request], Awaitable[Response]]
    for path, post in (("/meta", meta_receiver), ("/linkedin", linkedin_receiver)):
        routes.add_api_route(path, post, methods=["POST"], include_in_schema=True)
    return routes
