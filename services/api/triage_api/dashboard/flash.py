"""A refused form post's outcome carried across its redirect (POST, redirect, GET): the error, the PHI guard's
reasons and the draft reply, in a short-lived cookie for the flag's page only.

The draft was typed in this browser and its reasons quote it, so the cookie holds nothing the browser did not
have; it is HttpOnly, SameSite=Strict, limited to the flag's path, lives five minutes, and is cleared by the
page that shows it. It is signed with HMAC-SHA256 (the standard library's `hmac`) keyed by the session's CSRF
token, which every API process can read: a page on another port of the same host (same-site, so it may set
cookies here) cannot plant a message, and a flash from another session does not verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

COOKIE = "triage_flash"
MAX_AGE_S = 300
MAX_COOKIE_CHARS = 3800  # browsers keep at least 4,096 bytes per cookie, name and attributes included


def _sign(key: str, body: str) -> str:
    return hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()


def pack(key: str, data: dict[str, Any]) -> str | None:
    """The cookie value for `data`, or None when it would not fit in a cookie."""
    body = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
    value = f"{body}.{_sign(key, body)}"
    return value if len(value) <= MAX_COOKIE_CHARS else None


def unpack(key: str | None, value: str | None) -> dict[str, Any] | None:
    """What `pack` stored, if the signature holds for this session; None otherwise."""
    if not key or not value or "." not in value or len(value) > MAX_COOKIE_CHARS:
        return None
    body, _, signature = value.rpartition(".")
    if not hmac.compare_digest(_sign(key, body), signature):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
