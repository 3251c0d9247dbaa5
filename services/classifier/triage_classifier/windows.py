"""Sliding-window bookkeeping for the Faust tables: repeat hostility by one author, surges of one label on
one account. Pure functions over JSON-serialisable state, so they are easy to test and to store."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


def recent(entries: list[list[Any]], now: float, window_s: float, cap: int) -> list[list[Any]]:
    """Entries `[timestamp, ...]` still inside the window, newest last, at most `cap` of them."""
    kept = [e for e in entries if now - float(e[0]) <= window_s]
    return kept[-cap:]


def add_occurrence(
    entries: list[list[Any]], now: float, window_s: float, cap: int, ref: str
) -> list[list[Any]]:
    """`ref` recorded at `now`, unless the window holds it already: processing is at-least-once, and a record
    delivered again (after a restart or a rebalance) must not count twice."""
    current = recent(entries, now, window_s, len(entries))
    if all(entry[1] != ref for entry in current):
        current.append([now, ref])
    return current[-cap:]


@dataclass(frozen=True)
class SurgeDecision:
    state: dict[str, Any]
    fire: bool
    count: int
    refs: list[str]


def surge_step(state: dict[str, Any], now: float, window_s: float, threshold: int, ref: str) -> SurgeDecision:
    """Record one flag; fire once when the window holds `threshold` flags, then stay quiet for a window."""
    entries = add_occurrence(state.get("recent", []), now, window_s, threshold, ref)
    alerted_at = state.get("alerted_at")
    quiet = alerted_at is not None and now - float(alerted_at) < window_s
    fire = len(entries) >= threshold and not quiet
    new_state = {"recent": entries, "alerted_at": now if fire else alerted_at}
    return SurgeDecision(new_state, fire, len(entries), [str(e[1]) for e in entries])


def surge_steps(
    state: dict[str, Any], now: float, window_s: float, threshold: int, refs: list[str]
) -> SurgeDecision:
    """Record several flags seen together, in their order, with the state after all of them. The decision
    is that of the flag that fired, if one did (a window stays quiet after firing, so at most one does), or
    else that of the last flag."""
    decision = SurgeDecision(state, False, len(state.get("recent", [])), [])
    fired: SurgeDecision | None = None
    for ref in refs:
        decision = surge_step(decision.state, now, window_s, threshold, ref)
        if decision.fire:
            fired = decision
    return decision if fired is None else replace(fired, state=decision.state)
