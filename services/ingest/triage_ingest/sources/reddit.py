"""Reddit comment listings (`/r/{sub}/comments`, `/user/{name}/comments`): each `t1` child is a comment.

Comments whose parent is another comment (`parent_id` `t1_…`) are replies, the rest comment on the post
(`link_id`). Removed or deleted comments (`[removed]`, `[deleted]`) and our own are ignored. The listing is
ordered by creation, so later edits are not seen; `edited` (false or epoch seconds) is read only as the
time of the text we got.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from triage_events import Author, Comment, CommentKind, CommentReceived, Platform

from triage_ingest.accounts import Accounts
from triage_ingest.sources.base import Batch, Problem, Unusable, received
from triage_ingest.sources.fields import comment_text, epoch_or_iso, obj, text_id

_GONE = {"[removed]", "[deleted]"}


def children(payload: Any) -> list[Any] | None:
    """The listing's `data.children`, or None when the payload is not a listing."""
    data = payload.get("data") if isinstance(payload, dict) else None
    items = data.get("children") if isinstance(data, dict) else None
    return items if isinstance(items, list) else None


def normalise(payload: Any, account_id: str, accounts: Accounts) -> Batch:
    """Every comment on one listing page; `account_id` is our Reddit username."""
    batch = Batch()
    items = children(payload)
    if items is None:
        batch.problems.append(
            Problem(account_id, "schema", "<root>", "expected a Listing with data.children")
        )
        return batch
    for i, child in enumerate(items):
        batch.collect(account_id, f"children[{i}]", partial(_child, account_id, child, accounts))
    return batch


def _child(account_id: str, child: Any, accounts: Accounts) -> CommentReceived | str:
    child = obj(child, "child")
    if child.get("kind") != "t1":
        return "not_a_comment"
    data = obj(child.get("data"), "data")
    name = text_id(data.get("name"), "data.name")
    author = data.get("author")
    body = data.get("body")
    if body in _GONE or author in _GONE:
        return "removed"
    if not isinstance(author, str) or not author:
        raise Unusable("schema", "data.author: missing")
    if author.lower() == account_id.lower():
        return "own_comment"
    body = comment_text(body, "data.body")
    created = epoch_or_iso(data.get("created_utc"))
    parent = data.get("parent_id")
    link = data.get("link_id")
    permalink = data.get("permalink")
    author_id = data.get("author_fullname")
    return received(
        accounts,
        Platform.REDDIT,
        account_id,
        Comment(
            platform_comment_id=name,
            kind=CommentKind.REPLY
            if isinstance(parent, str) and parent.startswith("t1_")
            else CommentKind.COMMENT,
            text=body,
            author=Author(
                id=author_id if isinstance(author_id, str) and author_id else author, handle=f"u/{author}"
            ),
            permalink=f"https://www.reddit.com{permalink}"
            if isinstance(permalink, str) and permalink
            else None,
            parent_id=parent if isinstance(parent, str) else None,
            thread_id=link if isinstance(link, str) else None,
            created_at=created,
        ),
        changed_at=created,
    )
