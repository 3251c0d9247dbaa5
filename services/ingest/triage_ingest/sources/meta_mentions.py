"""Instagram @mentions: the webhook names only ids, so the text is fetched from the Graph API before the
delivery is answered.

Comment mentions: `GET /{ig-user-id}?fields=mentioned_comment.comment_id({id}){id,text,timestamp,username,
like_count,media{id}}`; caption mentions: `mentioned_media.media_id({id}){id,caption,timestamp,username,
permalink}`; both with the account's token in the Authorization header. Meta keeps no copy of webhook data,
so the fetch happens inside the delivery, not in a background task: the receiver answers 200 only once
each mention is published or dead-lettered, and a crash before that makes Meta deliver it again. The cost
is bounded (a short timeout, three attempts, waits of at most two seconds) so the webhook stays well within
Meta's patience. What cannot be fetched goes to the DLQ with its change of the delivery (ids only) and a reason:
`no_credentials` (the account has no token) or `mention_fetch_failed` (the Graph error after retries).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from pydantic import ValidationError
from triage_events import CommentReceived

from triage_ingest.accounts import Accounts
from triage_ingest.actions.base import ActionFailed
from triage_ingest.actions.calls import json_object, send
from triage_ingest.actions.meta import graph_failure
from triage_ingest.sources import meta
from triage_ingest.sources.base import Batch, Problem, Unusable, describe

log = logging.getLogger(__name__)

COMMENT_FIELDS = "id,text,timestamp,username,like_count,media{id}"
MEDIA_FIELDS = "id,caption,timestamp,username,permalink"


class MentionFetcher:
    def __init__(
        self,
        graph_url: str,
        token: Callable[[str], str | None],
        http: httpx.AsyncClient | None = None,
        attempts: int = 3,
        max_wait: float = 2.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`token(ig_user_id)`: the account's Graph token. `http`: shared client (one of its own, with a
        short timeout, when None; close it with `aclose`)."""
        self._base = graph_url.rstrip("/")
        self._token = token
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(3.0))
        self._attempts = attempts
        self._max_wait = max_wait
        self._sleep = sleep

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def resolve(self, payload: Any, batch: Batch, accounts: Accounts) -> None:
        """Replace each `needs_fetch` problem of the delivery with its event, or with a clearer problem."""
        refs = {ref.where: ref for ref in meta.mention_refs(payload)}
        pending = [p for p in batch.problems if p.reason == "needs_fetch" and p.where in refs]
        if not pending:
            return
        results = await asyncio.gather(*(self._fetch(refs[p.where], accounts) for p in pending))
        for problem, result in zip(pending, results, strict=True):
            batch.problems.remove(problem)
            if isinstance(result, Problem):
                batch.problems.append(result)
            else:
                batch.events.append(result)

    async def _fetch(self, ref: meta.MentionRef, accounts: Accounts) -> CommentReceived | Problem:
        token = self._token(ref.ig_user_id)
        if not token:
            return Problem(ref.ig_user_id, "no_credentials", ref.where, "no Graph token for the account")
        if ref.comment_id:
            edge, fields = (
                "mentioned_comment",
                f"mentioned_comment.comment_id({ref.comment_id}){{{COMMENT_FIELDS}}}",
            )
        else:
            edge, fields = "mentioned_media", f"mentioned_media.media_id({ref.media_id}){{{MEDIA_FIELDS}}}"
        try:
            answer = await self._get(ref.ig_user_id, token, fields)
        except ActionFailed as exc:
            log.warning("mention fetch failed account=%s reason=%s", ref.ig_user_id, exc.reason)
            return Problem(ref.ig_user_id, "mention_fetch_failed", ref.where, exc.reason)
        found = answer.get(edge)
        if not isinstance(found, dict):
            return Problem(ref.ig_user_id, "mention_fetch_failed", ref.where, f"no {edge} in the answer")
        try:
            return meta.mentioned(ref, found, accounts)
        except Unusable as exc:
            return Problem(ref.ig_user_id, exc.reason, ref.where, exc.detail)
        except ValidationError as exc:
            return Problem(ref.ig_user_id, "schema", ref.where, describe(exc))

    async def _get(self, ig_user_id: str, token: str, fields: str) -> dict[str, Any]:
        """The Graph answer, retrying throttling, 5xx and network errors a few times with short waits."""
        for attempt in range(1, self._attempts + 1):
            try:
                response = await send(
                    self._http,
                    "GET",
                    f"{self._base}/{ig_user_id}",
                    params={"fields": fields},
                    headers={"Authorization": f"Bearer {token}"},
                )
                if response.is_success:
                    return json_object(response)
                raise graph_failure(response)
            except ActionFailed as exc:
                if not exc.transient or attempt == self._attempts:
                    raise
                await self._sleep(min(self._max_wait, exc.retry_after or 0.5 * attempt))
        raise ActionFailed("exhausted", transient=False)  # pragma: no cover (the loop returns or raises)
