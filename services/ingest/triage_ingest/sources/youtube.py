"""YouTube Data API v3 `commentThreads.list` (`allThreadsRelatedToChannelId`, `part=snippet,replies`).

Each thread's top-level comment becomes a comment, and each reply included in `replies.comments` a reply
(the API includes only some replies of a busy thread). YouTube has no edit notification: a comment whose
`updatedAt` is later than its `publishedAt` was edited, and is published as `change=edited` with
`changed_at=updatedAt`; otherwise `change=created`. `changed_at` is always set (the poller's cursor compares
it). Comments by the channel itself are ignored.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from triage_events import Author, Comment, CommentChange, CommentKind, CommentReceived, Platform

from triage_ingest.accounts import Accounts
from triage_ingest.sources.base import Batch, Problem, received
from triage_ingest.sources.fields import comment_text, epoch_or_iso, obj, text_id

PARTS = "snippet,replies"


def normalise(payload: Any, channel_id: str, accounts: Accounts) -> Batch:
    """Every comment on one page of the channel's comment threads."""
    batch = Batch()
    items = payload.get("items", []) if isinstance(payload, dict) else None
    if not isinstance(items, list):
        batch.problems.append(Problem(channel_id, "schema", "<root>", "expected an object with items[]"))
        return batch
    for i, item in enumerate(items):
        where = f"items[{i}]"
        batch.collect(channel_id, where, partial(_top_level, channel_id, item, accounts))
        replies = _mapping(_mapping(item).get("replies")).get("comments")
        for j, reply in enumerate(replies if isinstance(replies, list) else []):
            batch.collect(
                channel_id, f"{where}.replies[{j}]", partial(_reply, channel_id, item, reply, accounts)
            )
    return batch


def _top_level(channel_id: str, item: Any, accounts: Accounts) -> CommentReceived | str:
    thread = obj(item, "item")
    snippet = obj(thread.get("snippet"), "snippet")
    comment = obj(snippet.get("topLevelComment"), "snippet.topLevelComment")
    video_id = snippet.get("videoId")
    return _comment(channel_id, comment, CommentKind.COMMENT, None, video_id, accounts)


def _reply(channel_id: str, item: Any, reply: Any, accounts: Accounts) -> CommentReceived | str:
    thread = obj(item, "item")
    comment = obj(reply, "reply")
    parent = _mapping(comment.get("snippet")).get("parentId") or thread.get("id")
    video_id = _mapping(thread.get("snippet")).get("videoId")
    return _comment(channel_id, comment, CommentKind.REPLY, parent, video_id, accounts)


def _comment(
    channel_id: str,
    comment: dict[str, Any],
    kind: CommentKind,
    parent_id: Any,
    video_id: Any,
    accounts: Accounts,
) -> CommentReceived | str:
    comment_id = text_id(comment.get("id"), "id")
    snippet = obj(comment.get("snippet"), "snippet")
    author_channel = _mapping(snippet.get("authorChannelId")).get("value")
    if author_channel == channel_id:
        return "own_comment"
    # textOriginal is what the author typed; textDisplay may be HTML-escaped (textFormat=html).
    text = comment_text(snippet.get("textOriginal", snippet.get("textDisplay")), "snippet.textOriginal")
    published = epoch_or_iso(snippet.get("publishedAt"))
    updated = epoch_or_iso(snippet.get("updatedAt")) if snippet.get("updatedAt") else published
    edited = updated > published
    video = str(video_id) if isinstance(video_id, str) and video_id else None
    display = snippet.get("authorDisplayName")
    return received(
        accounts,
        Platform.YOUTUBE,
        channel_id,
        Comment(
            platform_comment_id=comment_id,
            kind=kind,
            text=text,
            author=Author(
                id=str(author_channel) if isinstance(author_channel, str) and author_channel else "unknown",
                handle=display if isinstance(display, str) and display.startswith("@") else "",
                display_name=display if isinstance(display, str) else "",
            ),
            permalink=f"https://www.youtube.com/watch?v={video}&lc={comment_id}" if video else None,
            parent_id=str(parent_id) if isinstance(parent_id, str) and parent_id else None,
            thread_id=video,
            created_at=published,
        ),
        change=CommentChange.EDITED if edited else CommentChange.CREATED,
        changed_at=updated if edited else published,
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
