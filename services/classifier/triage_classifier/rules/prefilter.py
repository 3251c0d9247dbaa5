"""A rule's pattern searched only where it could match: the same first match, found for less.

Python's `re` tries every branch of an alternation at every position of the text, so a rule of a few
hundred branches (`urgent.emergency_now` over eleven languages) costs the most on the texts it does not
match, which are nearly all of them. `Prefiltered` splits a pattern into its top-level branches and derives
for each one the literal strings of which every match must contain at least one ("needles": "breath" for
`\\b(?:is not|stopped) breath(?:ing)?\\b`). A branch runs only when one of its needles is in the text; a
branch without needles (all character classes) always runs.

The result is the pattern's own: `search` returns the first match of the whole alternation, which is the
leftmost match of any branch, the earliest branch on a tie (an alternation tries its branches in order at
each position). The needles are compared under the pattern's case-insensitivity exactly as `re` compares
characters (`re`'s own simple lower case, and the few letters it also treats as equal, such as dotless
"\u0131" and "i", long "\u017f" and "s"), so a needle absent from the text proves the branch cannot match.
"""

from __future__ import annotations

import _sre
import re
from itertools import pairwise, product
from re import _casefix, _parser  # type: ignore[attr-defined]
from re._constants import (  # type: ignore[attr-defined]
    AT,
    ATOMIC_GROUP,
    BRANCH,
    IN,
    LITERAL,
    MAX_REPEAT,
    MIN_REPEAT,
    POSSESSIVE_REPEAT,
    SUBPATTERN,
)
from typing import Any

MAX_NEEDLES = 256  # a set of needles larger than this is not worth its checks: the branch always runs
MAX_EXPANSION = 16  # a run of character classes ([aá], [杀殺]) is spelled out into at most this many strings


def _canon(code: int) -> str:
    """The character `re` compares a case-insensitive literal with: its simple lower case, then the smallest
    of the characters `re` also treats as equal to that."""
    lower = _sre.unicode_tolower(code)
    return chr(min((lower, *_casefix._EXTRA_CASES.get(lower, ()))))


class _Folding(dict[int, str]):
    """`str.translate` table from a character to `_canon`, filled as characters are met."""

    def __missing__(self, code: int) -> str:
        self[code] = folded = _canon(code)
        return folded


_FOLDING = _Folding()


def fold(text: str) -> str:
    """`text` with each character as `re` compares it case-insensitively: what needles are looked for in."""
    return text.lower() if text.isascii() else text.translate(_FOLDING)


def split_branches(pattern: str) -> list[str]:
    """The top-level branches of `pattern` (split at each `|` outside groups and character classes)."""
    branches: list[str] = []
    depth = 0
    start = 0
    i = 0
    in_class = False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "^":
                i += 1
            if pattern[i + 1 : i + 2] == "]":  # a ']' first in a class is a literal
                i += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            branches.append(pattern[start:i])
            start = i + 1
        i += 1
    branches.append(pattern[start:])
    return branches


Needles = frozenset[str]


def _better(a: Needles | None, b: Needles | None) -> Needles | None:
    """The more selective of two needle sets: the longer shortest needle, then fewer needles."""
    if a is None:
        return b
    if b is None:
        return a
    return a if (min(map(len, a)), -len(a)) >= (min(map(len, b)), -len(b)) else b


def _class_chars(items: list[tuple[Any, Any]]) -> set[str] | None:
    """The characters a class of plain literals matches, folded; None for anything else (ranges,
    categories, negation)."""
    chars = set()
    for op, av in items:
        if op is not LITERAL:
            return None
        chars.add(_canon(av))
    return chars


def needles(parsed: Any) -> Needles | None:
    """Literal strings (folded) of which every match of the parsed sequence contains one; None if none is
    known."""
    best: Needles | None = None
    run: set[str] = {""}
    for op, av in parsed:
        if op is AT:  # zero-width (\b, ^, $): the literals around it are still adjacent in the text
            continue
        chars: set[str] | None = None
        if op is LITERAL:
            chars = {_canon(av)}
        elif op is IN:
            chars = _class_chars(av)
        if chars is not None and len(run) * len(chars) <= MAX_EXPANSION:
            run = {prefix + char for prefix, char in product(run, chars)}
            continue
        if run != {""}:
            best = _better(best, frozenset(run))
        run = {""} if chars is None else set(chars)
        best = _better(best, _item_needles(op, av))
    if run != {""}:
        best = _better(best, frozenset(run))
    return best


def _item_needles(op: Any, av: Any) -> Needles | None:
    if op is SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        return None if add_flags or del_flags else needles(sub)
    if op is ATOMIC_GROUP:
        return needles(av)
    if op in (MAX_REPEAT, MIN_REPEAT, POSSESSIVE_REPEAT):
        low, _high, sub = av
        return needles(sub) if low >= 1 else None
    if op is BRANCH:
        union: set[str] = set()
        for branch in av[1]:
            found = needles(branch)
            if found is None:
                return None
            union |= found
        return frozenset(union) if len(union) <= MAX_NEEDLES else None
    return None  # a class, a category, any character, a lookaround: nothing certain


class Prefiltered:
    """A compiled pattern searched branch by branch, each branch only where its needles are."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        caseless = bool(pattern.flags & re.IGNORECASE)
        self.branches: list[tuple[Needles | None, re.Pattern[str]]] = []
        for source in split_branches(pattern.pattern):
            found = needles(_parser.parse(source, pattern.flags)) if caseless else None
            if found is not None and (not found or "" in found or len(found) > MAX_NEEDLES):
                found = None
            compiled = re.compile(source, pattern.flags)
            if found is None and self.branches and self.branches[-1][0] is None:
                # Branches that always run stay one alternation, in their order.
                joined = f"{self.branches[-1][1].pattern}|{source}"
                self.branches[-1] = (None, re.compile(joined, pattern.flags))
            else:
                self.branches.append((found, compiled))

        # Every needle of a pattern whose branches all have some: none in the text, no branch runs.
        self.gate: frozenset[str] | None = None
        if all(found is not None for found, _ in self.branches):
            self.gate = frozenset(
                needle for found, _ in self.branches if found is not None for needle in found
            )

    def needles(self) -> set[str]:
        return {needle for found, _ in self.branches if found is not None for needle in found}

    def search(self, text: str, present: set[str]) -> re.Match[str] | None:
        """The first match of the whole pattern in `text`; `present` holds the needles that occur in it
        (`NeedleIndex.present`)."""
        if self.gate is not None and self.gate.isdisjoint(present):
            return None
        first: re.Match[str] | None = None
        for found, branch in self.branches:
            if found is not None and found.isdisjoint(present):
                continue
            match = branch.search(text)
            if match is not None and (first is None or match.start() < first.start()):
                first = match
                if first.start() == 0:
                    break
        return first


class NeedleIndex:
    """Which of many needles occur in a text, looking only at those whose first two characters do."""

    def __init__(self, needles: set[str]) -> None:
        self.singles = sorted(n for n in needles if len(n) == 1)
        self.by_pair: dict[tuple[str, str], list[str]] = {}
        for needle in sorted(n for n in needles if len(n) > 1):
            self.by_pair.setdefault((needle[0], needle[1]), []).append(needle)

    def present(self, folded: str) -> set[str]:
        """The needles in `folded` (a text as `fold` spells it)."""
        found = {needle for needle in self.singles if needle in folded}
        for pair in self.by_pair.keys() & set(pairwise(folded)):
            found.update(needle for needle in self.by_pair[pair] if needle in folded)
        return found
