"""A cap on request bodies, enforced before anything else runs (authentication included): a declared
`Content-Length` over the cap is answered 413 without reading a byte of the body, and a body without one
(chunked) is counted as it arrives and refused as soon as it passes the cap. Without it FastAPI reads a whole
JSON body, of any size, before the route's dependencies can answer 401.

A plain ASGI middleware (like `main.RefuseNulCharacters`): no extra task or memory stream per request."""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes the cap. An HTTPException, so that FastAPI's body
    parsing lets it through (it turns other exceptions into a 400) and the app answers 413 itself."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit), headers={"Connection": "close"})


def too_large(limit: int) -> str:
    return f"request body too large: at most {limit} bytes"


class LimitRequestBody:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            # Connection: close, so the server does not read the unread body to reuse the connection.
            response = JSONResponse(
                {"detail": too_large(self.max_bytes)}, status_code=413, headers={"Connection": "close"}
            )
            await response(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge as exc:  # read outside a route (a middleware): answer here if still possible
            if started:
                raise
            response = JSONResponse({"detail": exc.detail}, status_code=413, headers=exc.headers)
            await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None
