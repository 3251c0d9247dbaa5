"""Meta webhooks: Facebook Page `feed` comment changes and Instagram `comments` / `mentions`.

The signature (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256(raw body, app secret)>`) is checked on the raw
bytes before anything is parsed. A delivery is batched (`entry[].changes[]`) and may mix accounts; each
change becomes an event, is ignored on purpose (reactions, posts, our own replies), or is a problem.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from functools import partial
from typing import Any

from triage_events import (
    Author,
    Comment,
    CommentChange,
    CommentKind,
    CommentReceived,
    Platform,
)

from triage_ingest.accounts import Accounts
from triage_ingest.sources.base import Batch, Problem, Unusable, received
from triage_ingest.sources.fields import epoch_or_iso, obj, text_id
from triage_ingest.sources.signatures import hmac_sha256_hex, same_digest

SIGNATURE_HEADER = "X-Hub-Signature-256"
_VERBS = {"add": CommentChange.CREATED, "edited": CommentChange.EDITED, "remove": CommentChange.DELETED}
_IG_COMMENT_FIELDS = {"comments", "live_comments"}


def signature_valid(body: bytes, header: str | None, app_secret: str) -> bool:
    """True when `header` is `sha256=` + the HMAC-SHA256 of `body` under the app secret."""
    if not header or not header.startswith("sha256="):
        return False
    return same_digest(hmac_sha256_hex(app_secret, body), header.removeprefix("sha256="))


def handshake(mode: str | None, token: str | None, challenge: str | None, verify_token: str) -> str | None:
    """The challenge to echo when Meta's subscription check is genuine, else None (answer 403)."""
    if mode != "subscribe" or token is None or challenge is None:
        return None
    if not hmac.compare_digest(verify_token.encode("utf-8"), token.encode("utf-8")):
        return None
    return challenge


def normalise(payload: Any, accounts: Accounts) -> Batch:
    """Every comment change in one (already verified and parsed) delivery."""
    batch = Batch()
    body = payload if isinstance(payload, dict) else {}
    kind = body.get("object")
    entries = body.get("entry")
    if kind not in ("page", "instagram") or not isinstance(entries, list):
        batch.problems.append(Problem("", "schema", "<root>", "expected object page|instagram and entry[]"))
        return batch
    platform = Platform.FACEBOOK if kind == "page" else Platform.INSTAGRAM
    for i, entry in enumerate(entries):
        account_id = ""
        try:
            entry = obj(entry, f"entry[{i}]")
            account_id = text_id(entry.get("id"), f"entry[{i}].id")
            changes = entry.get("changes", [])
            if not isinstance(changes, list):
                raise Unusable("schema", f"entry[{i}].changes: expected a list")
        except Unusable as exc:
            batch.problems.append(Problem(account_id, exc.reason, f"entry[{i}]", exc.detail))
            continue
        if not changes:
            batch.ignored.append((account_id, "no_changes"))  # e.g. Messenger `messaging` entries
        for j, change in enumerate(changes):
            where = f"entry[{i}].changes[{j}]"
            batch.collect(
                account_id,
                where,
                partial(_change, platform, account_id, entry.get("time"), change, where, accounts),
            )
    return batch


def _change(
    platform: Platform, account_id: str, entry_time: Any, change: Any, where: str, accounts: Accounts
) -> CommentReceived | str:
    """One change as an event, or the reason it is ignored."""
    change = obj(change, where)
    field = change.get("field")
    value = obj(change.get("value"), "value")
    if platform is Platform.FACEBOOK:
        return _facebook(account_id, entry_time, value, accounts) if field == "feed" else "other_field"
    if field in _IG_COMMENT_FIELDS:
        return _instagram_comment(account_id, entry_time, value, accounts)
    if field == "mentions":
        # The notification carries ids only (no text): the webhook receiver fetches the text with the
        # account's token (`meta_mentions`) and replaces this problem with the event, or a clearer reason.
        raise Unusable("needs_fetch", "mention without text: fetch mentioned_comment / mentioned_media")
    return "other_field"


@dataclass(frozen=True)
class MentionRef:
    """An Instagram @mention notification: a comment (`comment_id`) or a caption (media only) that mentions
    the account, at `where` in the delivery (the same path its `needs_fetch` problem carries)."""

    ig_user_id: str
    media_id: str
    comment_id: str | None
    where: str


def mention_refs(payload: Any) -> list[MentionRef]:
    """Every Instagram mention in a delivery that names the ids needed to fetch it."""
    body = _mapping(payload)
    entries = body.get("entry")
    if body.get("object") != "instagram" or not isinstance(entries, list):
        return []
    refs: list[MentionRef] = []
    for i, entry in enumerate(entries):
        entry = _mapping(entry)
        changes = entry.get("changes")
        for j, change in enumerate(changes if isinstance(changes, list) else []):
            change = _mapping(change)
            value = _mapping(change.get("value"))
            media, comment = value.get("media_id"), value.get("comment_id")
            if change.get("field") != "mentions" or not _id(entry.get("id")) or not _id(media):
                continue
            refs.append(
                MentionRef(
                    ig_user_id=str(entry["id"]),
                    media_id=str(media),
                    comment_id=str(comment) if _id(comment) else None,
                    where=f"entry[{i}].changes[{j}]",
                )
            )
    return refs


def mentioned(ref: MentionRef, found: dict[str, Any], accounts: Accounts) -> CommentReceived:
    """The event for a mention, from the Graph API's `mentioned_comment` (a comment) or `mentioned_media`
    (a caption) object. Graph gives the author's username but not their IG-scoped id, so the username is
    the author id (mentions of one person still share a partition)."""
    text = found.get("text") if ref.comment_id else found.get("caption")
    if not isinstance(text, str):
        raise Unusable("schema", "mention: no text or caption in the Graph answer")
    username = found.get("username")
    username = username if isinstance(username, str) else ""
    media = _mapping(found.get("media"))
    permalink = found.get("permalink")
    created = epoch_or_iso(found.get("timestamp"))
    return received(
        accounts,
        Platform.INSTAGRAM,
        ref.ig_user_id,
        Comment(
            platform_comment_id=text_id(found.get("id"), "mention.id"),
            kind=CommentKind.MENTION,
            text=text,
            author=Author(id=username or "unknown", handle=username),
            permalink=permalink if isinstance(permalink, str) else None,
            thread_id=str(media.get("id") or ref.media_id),
            created_at=created,
        ),
        changed_at=created,
    )


def _id(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value) != ""


def _facebook(
    page_id: str, entry_time: Any, value: dict[str, Any], accounts: Accounts
) -> CommentReceived | str:
    if value.get("item") != "comment":
        return "not_a_comment"  # reactions, posts, shares, likes
    change = _VERBS.get(str(value.get("verb")))
    if change is None:
        return "other_verb"
    author = _mapping(value.get("from"))
    author_id = str(author.get("id") or "")
    if author_id == page_id:
        return "own_comment"  # the Page's own replies
    text = value.get("message")
    if change is not CommentChange.DELETED and not isinstance(text, str):
        return "no_text"  # photo- or sticker-only comments
    comment_id = text_id(value.get("comment_id"), "value.comment_id")
    post_id = str(value.get("post_id") or "") or None
    parent_id = str(value.get("parent_id") or "") or None
    post = _mapping(value.get("post"))
    created = value.get("created_time") or entry_time
    return received(
        accounts,
        Platform.FACEBOOK,
        page_id,
        Comment(
            platform_comment_id=comment_id,
            kind=CommentKind.REPLY if parent_id and parent_id != post_id else CommentKind.COMMENT,
            text=text if isinstance(text, str) else "",
            author=Author(id=author_id or "unknown", display_name=str(author.get("name") or "")),
            permalink=post.get("permalink_url") if isinstance(post.get("permalink_url"), str) else None,
            parent_id=parent_id,
            thread_id=post_id,
            created_at=epoch_or_iso(created),
        ),
        change=change,
        changed_at=epoch_or_iso(entry_time) if entry_time else None,
    )


def _instagram_comment(
    ig_user_id: str, entry_time: Any, value: dict[str, Any], accounts: Accounts
) -> CommentReceived | str:
    author = obj(value.get("from"), "value.from")
    author_id = text_id(author.get("id"), "value.from.id")
    if author_id == ig_user_id:
        return "own_comment"
    text = value.get("text")
    if not isinstance(text, str):
        raise Unusable("schema", "value.text: missing")
    media = _mapping(value.get("media"))
    parent_id = str(value.get("parent_id") or "") or None
    created = epoch_or_iso(entry_time)
    username = str(author.get("username") or "")
    return received(
        accounts,
        Platform.INSTAGRAM,
        ig_user_id,
        Comment(
            platform_comment_id=text_id(value.get("id"), "value.id"),
            kind=CommentKind.REPLY if parent_id else CommentKind.COMMENT,
            text=text,
            author=Author(id=author_id, handle=username),
            parent_id=parent_id,
            thread_id=str(media.get("id") or "") or None,
            created_at=created,
        ),
        changed_at=created,
    )


def _mapping(value: Any) -> dict[str, Any]:
    """An optional nested object; anything else counts as absent."""
    return value if isinstance(value, dict) else {}
