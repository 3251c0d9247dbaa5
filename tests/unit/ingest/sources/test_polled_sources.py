"""The X, YouTube and Reddit normalisers: documented payloads become events; unknown fields are ignored;
wrong types, missing fields and oversized texts become problems (never the text); own comments and
removed ones are skipped on purpose; edits keep the comment's key."""

from __future__ import annotations

from typing import Any

from triage_events import CommentChange, CommentKind
from triage_events.schemas import MAX_TEXT_CHARS
from triage_ingest.accounts import AccountConfig, Accounts
from triage_ingest.sources import reddit, x, youtube

from tests.fakes import reddit as fake_reddit
from tests.fakes import x as fake_x
from tests.fakes import youtube as fake_yt

X_ID = "1500000000000000001"
CHANNEL = "UCbrightwater0000000000"
REDDIT_USER = "brightwater_health"

ACCOUNTS = Accounts(
    [
        AccountConfig(platform="x", id=X_ID, handle="@BrightwaterHealth"),
        AccountConfig(platform="youtube", id=CHANNEL, handle="@brightwater"),
        AccountConfig(
            platform="reddit", id=REDDIT_USER, handle="u/brightwater_health", target="r/brightwater"
        ),
    ]
)


def x_page(*posts: Any, **extra: Any) -> dict[str, Any]:
    return {
        "data": list(posts),
        "includes": {"users": [{"id": "2244994945", "name": "Sam", "username": "sam_q"}]},
        "meta": {"result_count": len(posts)},
        **extra,
    }


def test_x_mention_from_the_documented_shape() -> None:
    batch = x.normalise(x_page(fake_x.post("1876543210987654321")), X_ID, ACCOUNTS)
    [event] = batch.events
    assert (batch.problems, batch.ignored) == ([], [])
    assert event.comment_key == f"x:{X_ID}:1876543210987654321"
    assert event.comment.kind is CommentKind.MENTION
    assert event.comment.author.id == "2244994945" and event.comment.author.handle == "@sam_q"
    assert event.comment.permalink == "https://x.com/sam_q/status/1876543210987654321"
    assert event.comment.language == "en" and event.comment.thread_id == "1876543210987654321"
    assert event.account.handle == "@BrightwaterHealth"
    assert event.change is CommentChange.CREATED


def test_x_reply_edit_own_post_and_unknown_fields() -> None:
    reply = fake_x.post(
        "1876543210987654330",
        referenced_tweets=[{"type": "replied_to", "id": "1876543210987654300"}],
        edit_history_tweet_ids=["1876543210987654322", "1876543210987654330"],
        future_field={"nested": [1, 2]},
    )
    own = fake_x.post("1876543210987654331", author=X_ID)
    batch = x.normalise(x_page(reply, own, note="unknown top-level"), X_ID, ACCOUNTS)
    [event] = batch.events
    assert event.comment.kind is CommentKind.REPLY and event.comment.parent_id == "1876543210987654300"
    # An edit is the same comment (the first id of its history), published as an edit.
    assert event.comment.platform_comment_id == "1876543210987654322"
    assert event.change is CommentChange.EDITED
    assert batch.ignored == [(X_ID, "own_comment")]


def test_x_bad_items_are_problems_and_the_rest_still_counts() -> None:
    huge = fake_x.post("3", text="a" * (MAX_TEXT_CHARS + 1))
    batch = x.normalise(
        x_page(fake_x.post("1", text=12345), "not an object", huge, fake_x.post("4", created_at=17)),
        X_ID,
        ACCOUNTS,
    )
    batch2 = x.normalise(x_page(fake_x.post("5")), X_ID, ACCOUNTS)
    assert [p.where for p in batch.problems] == ["data[0]", "data[1]", "data[2]", "data[3]"]
    assert {p.reason for p in batch.problems} == {"schema"}
    assert all("aaaa" not in p.detail for p in batch.problems)  # the text never travels in a reason
    assert len(batch2.events) == 1
    assert x.normalise({"meta": {"result_count": 0}}, X_ID, ACCOUNTS).events == []
    assert x.normalise({"data": "nope"}, X_ID, ACCOUNTS).problems[0].where == "<root>"


def test_youtube_threads_replies_and_edits() -> None:
    top = fake_yt.comment("UgzTop1", "2026-01-05T14:03:11Z", text="Ivermectin cures covid")
    edited = fake_yt.comment("UgzTop2", "2026-01-05T13:00:00Z", updated="2026-01-05T15:00:00Z")
    reply = fake_yt.comment("UgzTop1.reply1", "2026-01-05T14:10:00Z", parentId="UgzTop1")
    own_reply = fake_yt.comment("UgzTop1.reply2", "2026-01-05T14:20:00Z", author_channel=CHANNEL)
    payload = {
        "kind": "youtube#commentThreadListResponse",
        "items": [fake_yt.thread(top, reply, own_reply), fake_yt.thread(edited)],
    }
    batch = youtube.normalise(payload, CHANNEL, ACCOUNTS)
    by_id = {e.comment.platform_comment_id: e for e in batch.events}
    assert set(by_id) == {"UgzTop1", "UgzTop1.reply1", "UgzTop2"}
    assert by_id["UgzTop1"].comment.kind is CommentKind.COMMENT
    assert by_id["UgzTop1"].comment.permalink == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&lc=UgzTop1"
    assert by_id["UgzTop1.reply1"].comment.kind is CommentKind.REPLY
    assert by_id["UgzTop1.reply1"].comment.parent_id == "UgzTop1"
    assert by_id["UgzTop2"].change is CommentChange.EDITED
    assert by_id["UgzTop2"].changed_at is not None and by_id["UgzTop2"].changed_at.hour == 15
    assert by_id["UgzTop1"].change is CommentChange.CREATED
    assert batch.ignored == [(CHANNEL, "own_comment")]


def test_youtube_bad_items_are_problems() -> None:
    no_text = fake_yt.comment("a", "2026-01-05T14:03:11Z")
    del no_text["snippet"]["textOriginal"], no_text["snippet"]["textDisplay"]
    bad_time = fake_yt.comment("b", "yesterday")
    huge = fake_yt.comment("c", "2026-01-05T14:03:11Z", text="b" * (MAX_TEXT_CHARS + 5))
    good = fake_yt.comment("d", "2026-01-05T14:03:11Z")
    items = [
        fake_yt.thread(no_text),
        fake_yt.thread(bad_time),
        fake_yt.thread(huge),
        {"snippet": []},
        fake_yt.thread(good),
    ]
    batch = youtube.normalise({"items": items}, CHANNEL, ACCOUNTS)
    assert [p.where for p in batch.problems] == ["items[0]", "items[1]", "items[2]", "items[3]"]
    assert [e.comment.platform_comment_id for e in batch.events] == ["d"]
    assert youtube.normalise([], CHANNEL, ACCOUNTS).problems[0].reason == "schema"


def test_reddit_listing_children() -> None:
    top = fake_reddit.comment("t1_aaa1", 1767225600.0)
    reply = fake_reddit.comment("t1_aaa2", 1767225700.0, parent_id="t1_aaa1")
    removed = fake_reddit.comment("t1_aaa3", 1767225800.0, body="[removed]", author="[deleted]")
    own = fake_reddit.comment("t1_aaa4", 1767225900.0, author="Brightwater_Health")
    post = {"kind": "t3", "data": {"name": "t3_zz"}}
    payload = {"kind": "Listing", "data": {"children": [own, removed, reply, top, post], "after": None}}
    batch = reddit.normalise(payload, REDDIT_USER, ACCOUNTS)
    by_id = {e.comment.platform_comment_id: e for e in batch.events}
    assert set(by_id) == {"t1_aaa1", "t1_aaa2"}
    assert (
        by_id["t1_aaa2"].comment.kind is CommentKind.REPLY
        and by_id["t1_aaa1"].comment.kind is CommentKind.COMMENT
    )
    assert (
        by_id["t1_aaa1"].comment.author.id == "t2_sam_q"
        and by_id["t1_aaa1"].comment.author.handle == "u/sam_q"
    )
    assert (
        by_id["t1_aaa1"].comment.permalink
        == "https://www.reddit.com/r/brightwater/comments/1abcd2/flu_shots/aaa1/"
    )
    assert by_id["t1_aaa1"].comment.thread_id == "t3_1abcd2"
    assert sorted(r for _a, r in batch.ignored) == ["not_a_comment", "own_comment", "removed"]


def test_reddit_bad_children_are_problems() -> None:
    children = [
        fake_reddit.comment("t1_b1", 1767225600.0, body=None),
        fake_reddit.comment("t1_b2", "soon"),
        fake_reddit.comment("t1_b3", 1767225600.0, body="c" * (MAX_TEXT_CHARS + 1)),
        {"kind": "t1", "data": "x"},
        fake_reddit.comment("t1_b5", 1767225600.0),
    ]
    batch = reddit.normalise({"data": {"children": children}}, REDDIT_USER, ACCOUNTS)
    assert [p.where for p in batch.problems] == ["children[0]", "children[1]", "children[2]", "children[3]"]
    assert [e.comment.platform_comment_id for e in batch.events] == ["t1_b5"]
    assert reddit.normalise({"data": {}}, REDDIT_USER, ACCOUNTS).problems[0].where == "<root>"
