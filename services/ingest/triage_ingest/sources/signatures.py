"""Webhook signature checks: the HMAC-SHA256 hex digest senders sign with, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def same_digest(expected_hex: str, given: str) -> bool:
    """Constant-time comparison of two hex digests (case-insensitive, as senders differ)."""
    return hmac.compare_digest(expected_hex.encode("ascii"), given.strip().lower().encode("ascii", "replace"))
