"""X API v2 mentions (`GET /2/users/:id/mentions`): every post in `data[]` becomes a mention or a reply.

An edited post gets a new id; `edit_history_tweet_ids` lists every version oldest first, so the first one is
the comment's stable id and a later version is published as an edit of it (same `comment_key`). The author's
handle comes from the `includes.users` expansion. Our own posts are ignored.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from triage_events import Author, Comment, CommentChange, CommentKind, CommentReceived, Platform

from triage_ingest.accounts import Accounts
from triage_ingest.sources.base import Batch, Problem, Unusable, received
from triage_ingest.sources.fields import comment_text, epoch_or_iso, obj, text_id

TWEET_FIELDS = (
    "created_at,author_id,conversation_id,lang,in_reply_to_user_id,referenced_tweets,edit_history_tweet_ids"
)
USER_FIELDS = "username,name"
EXPANSIONS = "author_id"


def normalise(payload: Any, account_id: str, accounts: Accounts) -> Batch:
    """Every post on one page of the mentions timeline of `account_id` (our user id)."""
    batch = Batch()
    body = payload if isinstance(payload, dict) else {}
    posts = body.get("data", [])  # absent when the page is empty
    if not isinstance(payload, dict) or not isinstance(posts, list):
        batch.problems.append(Problem(account_id, "schema", "<root>", "expected an object with data[]"))
        return batch
    users = _users(body.get("includes"))
    for i, post in enumerate(posts):
        where = f"data[{i}]"
        batch.collect(account_id, where, partial(_post, account_id, post, users, accounts))
    return batch


def _post(
    account_id: str, post: Any, users: dict[str, dict[str, Any]], accounts: Accounts
) -> CommentReceived | str:
    post = obj(post, "post")
    post_id = text_id(post.get("id"), "id")
    author_id = text_id(post.get("author_id"), "author_id")
    if author_id == account_id:
        return "own_comment"
    text = comment_text(post.get("text"), "text")
    if not isinstance(post.get("created_at"), str):
        raise Unusable("schema", "created_at: missing or not an ISO 8601 string")
    created = epoch_or_iso(post["created_at"])
    history = post.get("edit_history_tweet_ids")
    original = (
        history[0] if isinstance(history, list) and history and isinstance(history[0], str) else post_id
    )
    replied_to = _replied_to(post.get("referenced_tweets"))
    user = users.get(author_id, {})
    username = user.get("username") if isinstance(user.get("username"), str) else ""
    lang = post.get("lang")
    conversation = post.get("conversation_id")
    return received(
        accounts,
        Platform.X,
        account_id,
        Comment(
            platform_comment_id=original,
            kind=CommentKind.REPLY if replied_to else CommentKind.MENTION,
            text=text,
            author=Author(
                id=author_id,
                handle=f"@{username}" if username else "",
                display_name=str(user.get("name") or ""),
            ),
            permalink=f"https://x.com/{username or 'i/web'}/status/{post_id}",
            parent_id=replied_to,
            thread_id=str(conversation) if isinstance(conversation, str | int) else None,
            created_at=created,
            language=lang if isinstance(lang, str) and lang else None,
        ),
        change=CommentChange.EDITED if original != post_id else CommentChange.CREATED,
        changed_at=created,
    )


def _users(includes: Any) -> dict[str, dict[str, Any]]:
    """`includes.users` by id; anything malformed counts as absent (the handle is optional)."""
    users = includes.get("users") if isinstance(includes, dict) else None
    if not isinstance(users, list):
        return {}
    return {str(u["id"]): u for u in users if isinstance(u, dict) and isinstance(u.get("id"), str | int)}


def _replied_to(referenced: Any) -> str | None:
    if not isinstance(referenced, list):
        return None
    for ref in referenced:
        if isinstance(ref, dict) and ref.get("type") == "replied_to" and isinstance(ref.get("id"), str):
            return str(ref["id"])
    return None
