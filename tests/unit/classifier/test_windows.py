"""The sliding-window bookkeeping behind the classifier's tables: expiry, the cap, and surge firing."""

from __future__ import annotations

import json

import pytest
from triage_classifier.windows import add_occurrence, recent, surge_step, surge_steps

WINDOW = 100.0


def test_recent_drops_entries_older_than_the_window_and_keeps_the_boundary() -> None:
    entries = [[10.0, "old"], [49.0, "just-out"], [50.0, "edge"], [120.0, "new"]]

    kept = recent(entries, now=150.0, window_s=WINDOW, cap=10)

    assert kept == [[50.0, "edge"], [120.0, "new"]]


def test_recent_keeps_only_the_newest_entries_up_to_the_cap_in_order() -> None:
    entries = [[float(t), f"r{t}"] for t in range(1, 7)]

    kept = recent(entries, now=7.0, window_s=WINDOW, cap=3)

    assert kept == [[4.0, "r4"], [5.0, "r5"], [6.0, "r6"]]


def test_recent_accepts_timestamps_stored_as_integers_or_strings() -> None:
    # Table values round-trip through JSON; a timestamp may come back as an int.
    assert recent([[100, "a"], ["180", "b"]], now=250.0, window_s=WINDOW, cap=5) == [["180", "b"]]


def test_add_occurrence_appends_the_new_ref_last_and_expires_old_ones() -> None:
    entries = [[0.0, "first"], [60.0, "second"]]

    updated = add_occurrence(entries, now=130.0, window_s=WINDOW, cap=5, ref="third")

    assert updated == [[60.0, "second"], [130.0, "third"]]
    assert entries == [[0.0, "first"], [60.0, "second"]]  # the stored state is not modified in place


def test_add_occurrence_with_a_full_window_drops_the_oldest() -> None:
    entries: list[list[object]] = []
    for t, ref in ((0.0, "a"), (1.0, "b"), (2.0, "c")):
        entries = add_occurrence(entries, now=t, window_s=WINDOW, cap=2, ref=ref)

    assert [e[1] for e in entries] == ["b", "c"]


def test_a_ref_already_in_the_window_is_not_counted_again() -> None:
    entries = add_occurrence([], now=0.0, window_s=WINDOW, cap=5, ref="k1")

    again = add_occurrence(entries, now=10.0, window_s=WINDOW, cap=5, ref="k1")

    assert again == [[0.0, "k1"]]  # kept at its first time
    # Once it has left the window, the same ref counts anew.
    assert add_occurrence(again, now=150.0, window_s=WINDOW, cap=5, ref="k1") == [[150.0, "k1"]]


def _steps(state: dict, flags: list[tuple[float, str]], threshold: int = 3) -> tuple[dict, list]:
    decisions = []
    for now, ref in flags:
        decision = surge_step(state, now, WINDOW, threshold, ref)
        state = decision.state
        decisions.append(decision)
    return state, decisions


def test_surge_fires_once_when_the_window_reaches_the_threshold() -> None:
    _, decisions = _steps({}, [(0.0, "k1"), (10.0, "k2"), (20.0, "k3")])

    assert [d.fire for d in decisions] == [False, False, True]
    assert [d.count for d in decisions] == [1, 2, 3]
    assert decisions[-1].refs == ["k1", "k2", "k3"]
    assert decisions[-1].state["alerted_at"] == 20.0


def test_surge_stays_quiet_for_a_window_after_firing() -> None:
    state, _ = _steps({}, [(0.0, "k1"), (10.0, "k2"), (20.0, "k3")])

    _, later = _steps(state, [(30.0, "k4"), (60.0, "k5"), (119.0, "k6")])

    assert [d.fire for d in later] == [False, False, False]
    assert all(d.count == 3 for d in later)  # the window is full: it is the quiet period that holds it back
    assert later[-1].state["alerted_at"] == 20.0


def test_surge_fires_again_once_the_quiet_window_is_over_and_the_threshold_is_reached_again() -> None:
    state, _ = _steps({}, [(0.0, "k1"), (10.0, "k2"), (20.0, "k3")])

    # By t=125 everything but k4 has left the window; k5 and k6 refill it after the quiet period.
    _, later = _steps(state, [(50.0, "k4"), (125.0, "k5"), (130.0, "k6")])

    assert [d.fire for d in later] == [False, False, True]
    assert later[-1].refs == ["k4", "k5", "k6"]
    assert later[-1].state["alerted_at"] == 130.0


def test_flags_spread_wider_than_the_window_never_fire() -> None:
    _, decisions = _steps({}, [(0.0, "k1"), (90.0, "k2"), (200.0, "k3"), (290.0, "k4"), (400.0, "k5")])

    assert not any(d.fire for d in decisions)
    assert max(d.count for d in decisions) == 2


def test_surge_state_survives_a_json_round_trip_like_a_table_value() -> None:
    state, _ = _steps({}, [(0.0, "k1"), (10.0, "k2"), (20.0, "k3")])
    stored = json.loads(json.dumps(state))

    from_stored = surge_step(stored, 40.0, WINDOW, 3, "k4")
    from_memory = surge_step(state, 40.0, WINDOW, 3, "k4")

    assert from_stored == from_memory
    assert from_stored.fire is False


def test_surge_step_does_not_modify_the_state_it_is_given() -> None:
    state = {"recent": [[0.0, "k1"], [10.0, "k2"]], "alerted_at": None}
    snapshot = json.dumps(state)

    decision = surge_step(state, 20.0, WINDOW, 3, "k3")

    assert decision.fire is True
    assert json.dumps(state) == snapshot


@pytest.mark.parametrize(
    ("before", "refs"),
    [
        ([], ["k1", "k2"]),  # below the threshold
        ([], ["k1", "k2", "k3", "k4", "k5"]),  # fires at k3, the last two keep the window full
        ([(0.0, "k1")], ["k2", "k3"]),  # fires at the last
        ([(0.0, "k1"), (10.0, "k2"), (20.0, "k3")], ["k4", "k5"]),  # already fired: quiet
        ([], []),
    ],
)
def test_several_flags_at_once_decide_as_one_by_one_would(
    before: list[tuple[float, str]], refs: list[str]
) -> None:
    state, _ = _steps({}, before)
    _, one_by_one = _steps(state, [(30.0, ref) for ref in refs])

    together = surge_steps(state, 30.0, WINDOW, 3, refs)

    fired = [d for d in one_by_one if d.fire]
    expected = fired[0] if fired else (one_by_one[-1] if one_by_one else None)
    assert together.fire == bool(fired)
    if expected is not None:
        assert (together.count, together.refs) == (expected.count, expected.refs)
        assert together.state == one_by_one[-1].state
    else:
        assert together.state == state


def test_a_surge_mark_delivered_twice_counts_its_comments_once() -> None:
    state = surge_steps({}, 0.0, WINDOW, 3, ["k1", "k2"]).state

    again = surge_steps(state, 1.0, WINDOW, 3, ["k1", "k2"])

    assert (again.fire, again.count) == (False, 2)
    assert surge_steps(again.state, 2.0, WINDOW, 3, ["k3"]).fire
