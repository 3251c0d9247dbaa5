"""Fakes of Meta's Graph API: the Instagram mention lookups over real HTTP (`FakeGraphMentions`, on the
recorder), and the Facebook/Instagram comment actions in process (`FakeGraphActions`, an
`httpx.MockTransport` handler)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from tests.fakes.accounts import IG_USER_ID
from tests.fakes.recorder import Answer, Call, FakePlatform

# What the Graph API answers for a mentioning comment and a mentioning caption (the id is the one asked for).
MENTIONED_COMMENT = {
    "text": "@brightwater my mother's chemo got cancelled twice, who do I call?",
    "timestamp": "2026-01-05T14:03:11+0000",
    "username": "sam.q",
    "like_count": 2,
    "media": {"id": "17918195224117851"},
}
MENTIONED_MEDIA = {
    "caption": "Great nurses at @brightwater today",
    "timestamp": "2026-01-05T15:00:00+0000",
    "username": "pat.r",
    "permalink": "https://www.instagram.com/p/C1abc/",
}


@dataclass
class FakeGraphMentions(FakePlatform):
    """graph.facebook.com for Instagram mention lookups on `IG_USER_ID`."""

    def answer(self, call: Call) -> Answer:
        if call.headers.get("authorization") != "Bearer ig-token":
            error = {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}
            return 400, {"error": error}, {}
        fields = call.query.get("fields", "")
        comment = re.match(r"mentioned_comment\.comment_id\((\w+)\)", fields)
        media = re.match(r"mentioned_media\.media_id\((\w+)\)", fields)
        if call.path.endswith(f"/{IG_USER_ID}") and comment:
            found = {**MENTIONED_COMMENT, "id": comment.group(1)}
            return 200, {"mentioned_comment": found, "id": IG_USER_ID}, {}
        if call.path.endswith(f"/{IG_USER_ID}") and media:
            found = {**MENTIONED_MEDIA, "id": media.group(1)}
            return 200, {"mentioned_media": found, "id": IG_USER_ID}, {}
        error = {"message": "Unsupported get request.", "type": "GraphMethodException", "code": 100}
        return 400, {"error": error}, {}


class FakeGraphActions:
    """Answers like graph.facebook.com; `script` queues responses (status, body, headers) for the next calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any], str]] = []
        self.script: list[tuple[int, dict[str, Any], dict[str, str]]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        form = dict(httpx.QueryParams(body)) if "form" in request.headers.get("content-type", "") else {}
        payload = json.loads(body) if "json" in request.headers.get("content-type", "") else form
        self.calls.append(
            (request.method, request.url.path, payload, request.headers.get("authorization", ""))
        )
        if self.script:
            status, answer, headers = self.script.pop(0)
            return httpx.Response(status, json=answer, headers=headers)
        if request.method == "POST" and request.url.path.endswith(("/comments", "/replies")):
            return httpx.Response(200, json={"id": "998877665544332_999"})
        if request.url.path.endswith("/messages"):
            return httpx.Response(200, json={"recipient_id": "1254477777772919", "message_id": "m_AG5Hz2U"})
        return httpx.Response(200, json={"success": True})
