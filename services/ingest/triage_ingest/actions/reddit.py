"""Reddit actions on comments that mention or reply to the account, through the OAuth API.

Reply `POST /api/comment` (`thing_id`, `text`, `api_type=json`); hide `POST /api/remove` (`id`,
`spam=false`) and unhide `POST /api/approve`, both for subreddits the account moderates (elsewhere Reddit
answers 403: `not_moderator`); delete `POST /api/del` for the account's own comments, `/api/remove` for
anyone else's (the author comes from `GET /api/info`); private reply `POST /api/compose` to the author.
Ids are fullnames (`t1_…` for comments); a bare id is taken as a comment. A post of the account's own (from the
Drafts page) is a self post, `POST /api/submit` (`kind=self`, `sr`, `title`: the text's first line cut to 300
characters, `text`), in the subreddit the account's config names as its target (`r/<name>`); without one it
is refused as `unsupported_action` before any call, since Reddit has no feed of an account's own to post to
that the desk could pick for it. It answers the new post's fullname (`t3_…`).

Every call carries the bearer token from `TokenSource` and a descriptive User-Agent, which Reddit requires.
`X-Ratelimit-Remaining` becomes the quota gauge and `X-Ratelimit-Reset` (seconds from now) the wait after a
429. Errors in a 200 answer come in `json.errors` as `[code, message, field]`: `RATELIMIT` is transient
(with `json.ratelimit` seconds when given), any other code is permanent as `reddit_<code>`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from triage_events import ActionKind, ActionRequested, Platform

from triage_ingest.accounts import Accounts
from triage_ingest.actions.base import ActionFailed
from triage_ingest.actions.calls import AccountLabel, failure, json_object, require_text
from triage_ingest.actions.oauth import OAuthClient, TokenSource
from triage_ingest.rate_limits import REDDIT_RATE_HEADERS, header_number, retry_after

DM_SUBJECT = "About your comment"
_FULLNAME_PREFIXES = ("t1_", "t3_")
TITLE_LIMIT = 300  # Reddit's longest title

Subreddit = Callable[[Platform, str], str | None]


class RedditClient(OAuthClient):
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        tokens: TokenSource,
        account_label: AccountLabel,
        user_agent: str,
        subreddit: Subreddit | None = None,
    ) -> None:
        """`subreddit`: where an account posts (`configured_subreddit`); none, or None for an account: it
        does not post."""
        super().__init__(http, base_url, tokens, account_label)
        self._agent = user_agent
        self._subreddit: Subreddit = subreddit or (lambda _platform, _account: None)

    async def execute(self, request: ActionRequested) -> str | None:
        thing = fullname(request.platform_comment_id)
        match request.action:
            case ActionKind.REPLY:
                form = {"api_type": "json", "thing_id": thing, "text": require_text(request)}
                answer = await self._call(request, "POST", "/api/comment", form)
                return _created_name(answer)
            case ActionKind.HIDE:
                await self._call(request, "POST", "/api/remove", {"id": thing, "spam": "false"})
                return None
            case ActionKind.UNHIDE:
                await self._call(request, "POST", "/api/approve", {"id": thing})
                return None
            case ActionKind.DELETE:
                if _same_user(await self._author(request, thing), request):
                    await self._call(request, "POST", "/api/del", {"id": thing})
                else:
                    await self._call(request, "POST", "/api/remove", {"id": thing, "spam": "false"})
                return None
            case ActionKind.PRIVATE_REPLY:
                text = require_text(request)
                author = await self._author(request, thing)
                if author is None:
                    raise ActionFailed("author_unknown", transient=False)  # deleted account or comment
                form = {"api_type": "json", "to": author, "subject": DM_SUBJECT, "text": text}
                await self._call(request, "POST", "/api/compose", form)
                return None
            case ActionKind.POST:
                text = require_text(request)
                subreddit = self._subreddit(request.platform, request.account.id)
                if subreddit is None:
                    raise ActionFailed("unsupported_action", transient=False)  # no subreddit configured
                form = {
                    "api_type": "json",
                    "kind": "self",
                    "sr": subreddit,
                    "title": title(text),
                    "text": text,
                }
                return _submitted_name(await self._call(request, "POST", "/api/submit", form))
        raise ActionFailed("unsupported_action", transient=False)

    async def _author(self, request: ActionRequested, thing: str) -> str | None:
        """The username of the thing's author; None for `[deleted]`."""
        listing = await self._call(request, "GET", "/api/info", None, params={"id": thing, "raw_json": "1"})
        data = listing.get("data")
        children = data.get("children") if isinstance(data, dict) else None
        if not isinstance(children, list) or not children or not isinstance(children[0], dict):
            raise ActionFailed("not_found", transient=False)
        item = children[0].get("data")
        author = item.get("author") if isinstance(item, dict) else None
        return author if isinstance(author, str) and author not in ("", "[deleted]") else None

    async def _call(
        self,
        request: ActionRequested,
        method: str,
        path: str,
        form: dict[str, str] | None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        token = await self._account_token(request)
        headers = {"Authorization": f"bearer {token}", "User-Agent": self._agent}
        response = await self._send(method, path, token, headers, data=form, **kwargs)
        self._record_remaining(request, header_number(response, REDDIT_RATE_HEADERS.remaining))
        if response.status_code == 401:
            raise self._unauthorized(request)
        if not response.is_success:
            delay = retry_after(response, REDDIT_RATE_HEADERS)
            moderating = path in ("/api/remove", "/api/approve")
            reasons = {403: "not_moderator" if moderating else "forbidden", 404: "not_found"}
            raise failure(response, reasons.get(response.status_code), delay)
        body = json_object(response)
        _raise_json_errors(body)
        return body


def fullname(comment_id: str) -> str:
    """Reddit's `t1_<id>` for a comment id given bare (pollers may store either)."""
    return comment_id if comment_id.startswith(_FULLNAME_PREFIXES) else f"t1_{comment_id}"


def configured_subreddit(accounts: Accounts) -> Subreddit:
    """The subreddit an account's config names as its target (`r/<name>`), for its posts; None when the
    target is a user's page, unset, or the account unknown."""

    def subreddit(platform: Platform, account_id: str) -> str | None:
        config = accounts.get(platform, account_id)
        target = config.target.strip().removeprefix("/") if config else ""
        name = target.removeprefix("r/") if target.startswith("r/") else ""
        return name.strip("/") or None

    return subreddit


def title(text: str) -> str:
    """A post's title: its first line that has something on it, cut to Reddit's 300 characters."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:TITLE_LIMIT]


def _raise_json_errors(body: dict[str, Any]) -> None:
    """`{"json": {"errors": [["RATELIMIT", "…", "ratelimit"]], "ratelimit": 291.2}}` as `ActionFailed`."""
    answer = body.get("json")
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if not isinstance(answer, dict) or not isinstance(errors, list) or not errors:
        return
    first = errors[0]
    code = str(first[0]) if isinstance(first, list) and first else "unknown"
    if code == "RATELIMIT":
        wait = answer.get("ratelimit")
        delay = float(wait) if isinstance(wait, int | float) and not isinstance(wait, bool) else None
        raise ActionFailed("rate_limited", transient=True, retry_after=delay)
    raise ActionFailed(f"reddit_{code.lower()}"[:64], transient=False)


def _created_name(body: dict[str, Any]) -> str | None:
    """The fullname of the comment `/api/comment` created (`json.data.things[0].data.name`)."""
    answer = body.get("json")
    data = answer.get("data") if isinstance(answer, dict) else None
    things = data.get("things") if isinstance(data, dict) else None
    first = things[0] if isinstance(things, list) and things and isinstance(things[0], dict) else {}
    created = first.get("data")
    name = created.get("name") if isinstance(created, dict) else None
    return name if isinstance(name, str) else None


def _submitted_name(body: dict[str, Any]) -> str | None:
    """The fullname of the post `/api/submit` created (`json.data.name`)."""
    answer = body.get("json")
    data = answer.get("data") if isinstance(answer, dict) else None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def _same_user(author: str | None, request: ActionRequested) -> bool:
    """Whether `author` is the account itself (its id or handle, with or without `u/`)."""
    if author is None:
        return False
    ours = {_bare(request.account.id), _bare(request.account.handle)} - {""}
    return author.lower() in ours


def _bare(name: str) -> str:
    return name.strip().lower().removeprefix("/").removeprefix("u/").removeprefix("@")
