"""The API's domain errors, mapped to HTTP in one place (`install`), and the one error shape every 4xx answer
has (`ErrorOut`), declared for every operation in the OpenAPI schema (`ERROR_RESPONSES`)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field


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


class ValidationIssue(BaseModel):
    """One problem with a parameter or a body field, as FastAPI reports it."""

    model_config = ConfigDict(extra="allow")  # `input`, `ctx`, `url`: present or not, by error type

    loc: list[str | int] = Field(description="where: `query`, `path`, `header` or `body`, then the name")
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every 4xx answer. `detail` is a message, or for an invalid parameter or body (422) the list of what
    was wrong with it; `reasons` lists why a request was refused when there are several (the PHI guard)."""

    detail: str | list[ValidationIssue]
    reasons: list[str] | None = None


_WHEN = {
    400: "The request cannot be carried out as asked (an unknown operation, a malformed body).",
    401: "No valid session or bearer token.",
    403: "The role is too low, or a browser session's unsafe request lacks its CSRF token.",
    404: "No such resource.",
    409: "The resource's state does not allow it (someone else holds the claim, a finished flag).",
    413: "The request body is over the size limit.",
    422: "A parameter or body field is invalid, or the PHI guard blocked a reply.",
    429: "Too many attempts; try again later.",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": when} for status, when in _WHEN.items()
}
