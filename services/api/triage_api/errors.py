"""The API's domain errors, mapped to HTTP in one place (`install`)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class DeskError(Exception):
    status_code = 400

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reasons = reasons or []


class NotFound(DeskError):
    status_code = 404


class Forbidden(DeskError):
    status_code = 403


class Conflict(DeskError):
    """Someone else holds the claim, or the flag's status does not allow the move."""

    status_code = 409


class Unprocessable(DeskError):
    """The request is well-formed but cannot be carried out (the PHI guard blocked a reply, a bad template)."""

    status_code = 422


def install(app: FastAPI) -> None:
    @app.exception_handler(DeskError)
    async def _desk_error(_: Request, exc: DeskError) -> JSONResponse:
        body: dict[str, object] = {"detail": exc.message}
        if exc.reasons:
            body["reasons"] = exc.reasons
        return JSONResponse(body, status_code=exc.status_code)
