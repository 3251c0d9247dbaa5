"""Shared shapes of what the API takes and gives: bounds on integer parameters (a value the database cannot
hold is a 422, never an overflow and a 500), aware UTC times in responses, and links that may be shown."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Path
from pydantic import AfterValidator, BeforeValidator

from triage_api.db import as_utc

# Integer columns are 32-bit on PostgreSQL (`Integer`), and SQLite's are 64-bit: every id parameter is bounded
# by the smaller, every offset by far less (deeper pages are what `cursor` is for).
MAX_ROW_ID = 2**31 - 1
MAX_OFFSET = 10_000_000

_DIGITS = re.compile(r"[0-9]{1,19}")


def _whole_number(value: Any) -> Any:
    """An integer parameter is written in digits, nothing else: pydantic alone would also take " 3", "3.0" or
    "+3", which the schema (`type: integer`) does not allow."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("must be a whole number written in digits")
    return value


WholeNumber = BeforeValidator(_whole_number)
RowId = Annotated[int, WholeNumber, Path(ge=1, le=MAX_ROW_ID, description="a row id")]

# Times in parameters: ISO 8601 date and time (an offset, or UTC when none), within these years. A bare number
# (pydantic would read a Unix time) or a date alone is refused, and so is a year whose arithmetic (a week
# before, a bucket after) would leave what Python's datetime can hold.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*", re.ASCII)


def _iso_datetime(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_DATETIME.fullmatch(value):
        raise ValueError("must be an ISO 8601 date and time, such as 2025-01-31T08:00:00Z")
    return value


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= as_utc(value) < LATEST:
        raise ValueError(f"must be from {EARLIEST.year} to {LATEST.year - 1}")
    return value


QueryDateTime = Annotated[datetime, BeforeValidator(_iso_datetime), AfterValidator(_in_range)]


def _utc(value: datetime) -> datetime:
    return as_utc(value)


# A time in a response: always with its offset (UTC), whatever the database handed back (SQLite gives naive
# times). RFC 3339, as the OpenAPI `date-time` format requires.
UtcDateTime = Annotated[datetime, AfterValidator(_utc)]

LINK_SCHEMES = frozenset({"http", "https"})


def safe_link(url: str | None) -> str | None:
    """`url` if it may be shown as a link (http or https with a host, no control characters), else None: a
    platform's permalink is outside data, and `javascript:` or `data:` in an href runs in the desk's origin."""
    if not url:
        return None
    candidate = url.strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in LINK_SCHEMES or not parts.hostname:
        return None
    return candidate


# A link in a response: an unsafe stored value (from before links were checked on the way in) is given as null.
SafeLink = Annotated[str | None, AfterValidator(safe_link)]
