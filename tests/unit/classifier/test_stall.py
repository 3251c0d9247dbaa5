"""When the worker seeks back to its committed offsets: comments waiting, the agent idle, nothing moving."""

from __future__ import annotations

from triage_classifier.stall import StallWatch

P0, P1 = ("triage.comments.v1", 0), ("triage.comments.v1", 1)


def test_waiting_comments_and_an_idle_agent_call_for_a_seek_after_patience_readings() -> None:
    watch = StallWatch(patience=3)
    readings = [watch.stalled({P0: 0, P1: 2}, {P0: 5, P1: 3}) for _ in range(4)]
    # The first reading only learns the committed offsets; three idle ones after it make a stall.
    assert readings == [False, False, False, True]
    # The count starts again after a stall was reported.
    assert [watch.stalled({P0: 0, P1: 2}, {P0: 5, P1: 3}) for _ in range(3)] == [False, False, True]


def test_a_busy_agent_never_stalls_however_long_the_backlog() -> None:
    watch = StallWatch(patience=2)
    for _ in range(10):
        watch.delivered()
        assert not watch.stalled({P0: 5000}, {P0: 10})


def test_moving_commits_or_nothing_waiting_is_not_a_stall() -> None:
    watch = StallWatch(patience=2)
    assert not any(watch.stalled({P0: 3}, {P0: offset}) for offset in range(10, 20))  # commits advance
    assert not any(watch.stalled({P0: 0, P1: 0}, {P0: 20, P1: 4}) for _ in range(10))  # all caught up
