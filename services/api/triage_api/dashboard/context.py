"""The conversation around a flagged comment, for the flag page: the comment it answers (when that comment is
stored here, i.e. was flagged too), the other flagged comments of its thread, a link to the post where the
platform's ids make one, and the author's other flags on the same account (newest first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage_api.flags.models import Flag

THREAD_LIMIT = 10
HISTORY_LIMIT = 10
HISTORY_COUNT_CAP = 100

# The post a comment is under, from the platform's thread id (Comment.thread_id), where the id alone makes a
# public URL. Instagram media ids and TikTok video ids do not.
_POST_URLS = {
    "facebook": "https://www.facebook.com/{}",
    "youtube": "https://www.youtube.com/watch?v={}",
    "x": "https://x.com/i/web/status/{}",
    "reddit": "https://www.reddit.com/comments/{}",
    "linkedin": "https://www.linkedin.com/feed/update/{}",
}


@dataclass(frozen=True)
class Context:
    parent_id: str | None = None
    parent: Flag | None = None
    thread: list[Flag] = field(default_factory=list)
    post_url: str | None = None
    earlier: list[Flag] = field(default_factory=list)
    earlier_count: int = 0
    earlier_capped: bool = False


def post_url(platform: str, thread_id: str | None) -> str | None:
    """A link to the post a comment is under, or None where the platform's id makes none."""
    template = _POST_URLS.get(platform)
    if not thread_id or template is None:
        return None
    if platform == "reddit":
        thread_id = thread_id.removeprefix("t3_")
    return template.format(quote(thread_id, safe=":"))


def context_of(db: Session, flag: Flag) -> Context:
    parent = None
    if flag.parent_comment_id:
        parent = db.scalar(
            select(Flag).where(
                Flag.comment_key == f"{flag.platform}:{flag.account_id}:{flag.parent_comment_id}"
            )
        )
    thread: list[Flag] = []
    if flag.thread_id:
        thread = list(
            db.scalars(
                select(Flag)
                .where(
                    Flag.account_id == flag.account_id, Flag.thread_id == flag.thread_id, Flag.id != flag.id
                )
                .order_by(Flag.commented_at)
                .limit(THREAD_LIMIT)
            )
        )
    by_author = (
        Flag.account_id == flag.account_id,
        Flag.author_id == flag.author_id,
        Flag.id != flag.id,
    )
    earlier = list(
        db.scalars(select(Flag).where(*by_author).order_by(Flag.flagged_at.desc()).limit(HISTORY_LIMIT))
    )
    counted = (
        db.scalar(
            select(func.count()).select_from(
                select(Flag.id).where(*by_author).limit(HISTORY_COUNT_CAP + 1).subquery()
            )
        )
        or 0
    )
    return Context(
        parent_id=flag.parent_comment_id,
        parent=parent,
        thread=[t for t in thread if parent is None or t.id != parent.id],
        post_url=post_url(flag.platform, flag.thread_id),
        earlier=earlier,
        earlier_count=min(counted, HISTORY_COUNT_CAP),
        earlier_capped=counted > HISTORY_COUNT_CAP,
    )
