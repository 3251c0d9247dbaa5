"""Cursor persistence and the cursor rules: the SQLite store survives reopening, the YouTube quota is
counted per Pacific day, YouTube marks and Reddit cursors decide what is new, and the runner's waits."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from triage_events import Account, Author, Comment, CommentChange, CommentReceived, Platform
from triage_ingest.polling.cursors import CursorStore
from triage_ingest.polling.errors import PollFailed, QuotaExhausted, RateLimited
from triage_ingest.polling.reddit import RedditCursor
from triage_ingest.polling.runner import Schedule
from triage_ingest.polling.x import XCursor
from triage_ingest.polling.youtube import Mark, YouTubeCursor
from triage_ingest.quota import DailyQuota

from tests.fakes.reddit import comment as reddit_comment


def test_cursors_survive_reopening_and_unreadable_values_read_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "state" / "poll.sqlite3"
    store = CursorStore(path)
    store.put("x", "1", {"since_id": "10", "next_token": "abc"})
    store.put("x", "1", {"since_id": "11"})
    store.put("reddit", "1", {"fullname": "t1_a"})
    store.close()
    reopened = CursorStore(path)
    assert reopened.get("x", "1") == {"since_id": "11"}
    assert reopened.get("reddit", "1") == {"fullname": "t1_a"}
    assert reopened.get("youtube", "1") == {}
    reopened._db.execute("UPDATE cursors SET value = 'not json' WHERE platform = 'x'")
    assert reopened.get("x", "1") == {}
    assert XCursor.load({"since_id": 5, "next_token": "t", "junk": 1}) == XCursor(next_token="t")


def test_youtube_quota_is_spent_per_pacific_day_and_survives_restarts(tmp_path: Path) -> None:
    # 2026-01-06 07:59:59 UTC is 23:59:59 on the 5th in Los Angeles: one second before the reset.
    now = [datetime(2026, 1, 6, 7, 59, 59, tzinfo=UTC).timestamp()]
    store = CursorStore(tmp_path / "q.sqlite3")
    quota = DailyQuota(3, "youtube", store, clock=lambda: now[0])
    assert quota.day() == "2026-01-05"
    assert quota.spend(1) == 2 and quota.spend(2) == 0
    with pytest.raises(QuotaExhausted) as refused:
        quota.spend(1)
    assert refused.value.retry_after == pytest.approx(1.0)
    assert DailyQuota(3, "youtube", store, clock=lambda: now[0]).remaining() == 0  # a restart does not refill
    now[0] += 2
    assert quota.day() == "2026-01-06" and quota.remaining() == 3
    quota.spend(1)
    quota.exhaust()  # YouTube said quotaExceeded: believe it
    assert quota.remaining() == 0
    assert quota.seconds_to_reset() == pytest.approx(24 * 3600 - 1)


def event(comment_id: str, at: str, change: CommentChange = CommentChange.CREATED) -> CommentReceived:
    when = datetime.fromisoformat(at)
    return CommentReceived(
        platform=Platform.YOUTUBE,
        account=Account(id="UC1"),
        comment=Comment(platform_comment_id=comment_id, text="t", author=Author(id="UCa"), created_at=when),
        change=change,
        changed_at=when,
    )


def test_youtube_mark_keeps_the_newest_instant_and_its_ids() -> None:
    mark = Mark().advanced([event("a", "2026-01-05T10:00:00+00:00"), event("b", "2026-01-05T11:00:00+00:00")])
    mark = mark.advanced([event("c", "2026-01-05T11:00:00+00:00"), event("z", "2026-01-05T09:00:00+00:00")])
    assert mark == Mark("2026-01-05T11:00:00+00:00", ("b", "c"))
    assert not mark.is_new(event("b", "2026-01-05T11:00:00+00:00"))
    assert mark.is_new(event("d", "2026-01-05T11:00:00+00:00"))  # same instant, not seen
    assert not mark.is_new(event("e", "2026-01-05T10:59:59+00:00"))
    assert mark.is_new(event("a", "2026-01-05T12:00:00+00:00", CommentChange.EDITED))  # edited since
    stored = YouTubeCursor.load({"seen": {"instant": mark.instant, "ids": list(mark.ids)}, "next_token": 3})
    assert stored == YouTubeCursor(seen=mark)


def test_reddit_cursor_moves_to_the_newest_and_falls_back_on_created_utc() -> None:
    page = [reddit_comment("t1_c", 300.0), reddit_comment("t1_b", 300.0), reddit_comment("t1_a", 200.0)]
    cursor = RedditCursor().advanced(page)
    assert (cursor.fullname, cursor.created, sorted(cursor.ids)) == ("t1_c", 300.0, ["t1_b", "t1_c"])
    assert not cursor.is_new(reddit_comment("t1_b", 300.0))
    assert cursor.is_new(reddit_comment("t1_d", 300.0))
    assert cursor.is_new(reddit_comment("t1_e", 301.0))
    assert not cursor.is_new(reddit_comment("t1_f", 299.0))
    assert cursor.advanced([reddit_comment("t1_old", 100.0)]) == cursor
    assert RedditCursor.load({"fullname": 1, "created": "x", "ids": "no"}) == RedditCursor()


def test_runner_waits_what_the_platform_asked_or_a_jittered_backoff() -> None:
    schedule = Schedule(interval_s=60, backoff_initial_s=2, backoff_max_s=30)
    assert 54 <= schedule.next_poll() <= 66
    assert 1 <= schedule.backoff(1) <= 2 and 4 <= schedule.backoff(3) <= 8
    assert 15 <= schedule.backoff(20) <= 30
    assert 10 <= schedule.after(RateLimited(10.0), 1) <= 11
    assert 8 <= schedule.after(PollFailed("network"), 4) <= 16
