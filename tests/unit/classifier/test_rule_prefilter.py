"""The rules' prefilter: a pattern searched branch by branch, where its literals are, finds what the whole
pattern finds (the same span, the same first branch on a tie), and never misses a match `re` would make."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from triage_classifier.normalise import normalise
from triage_classifier.rules import ALL_RULES, evaluate
from triage_classifier.rules.base import REGEX_FLAGS, rx
from triage_classifier.rules.prefilter import NeedleIndex, Prefiltered, fold, needles, split_branches
from triage_classifier.rules.urgent import PHRASES

POSITIVES = json.loads((Path(__file__).parent / "rule_positives.json").read_text(encoding="utf-8"))
PREFILTERED = [(rule, Prefiltered(rule.pattern)) for rule in ALL_RULES]
ALL_NEEDLES = sorted(set().union(*(p.needles() for _, p in PREFILTERED)))
INDEX = NeedleIndex(set(ALL_NEEDLES))


def by_pattern(text: str) -> list[tuple[str, int, int]]:
    """What the rules' own patterns find, searched whole: the definition the prefilter must keep (a rule's
    decisive reading first, where it has one)."""
    view = normalise(text)
    found = []
    for rule in ALL_RULES:
        match = rule.decisive.search(view.text) if rule.decisive is not None else None
        if match is None:
            match = rule.pattern.search(view.text)
            if match is None or (rule.requires is not None and rule.requires.search(view.text) is None):
                continue
        found.append((rule.id, *view.origin(*match.span())))
    return found


def by_evaluate(text: str) -> list[tuple[str, int, int]]:
    return [(hit.rule_id, hit.start, hit.end) for hit in evaluate(text)]


def test_branches_split_only_at_the_top_level() -> None:
    assert split_branches(r"a|(?:b|c)|[|x]|\||d") == ["a", "(?:b|c)", "[|x]", r"\|", "d"]
    assert split_branches(r"[]|]|e") == ["[]|]", "e"]


def test_needles_are_the_literals_every_match_contains() -> None:
    parse = re._parser.parse  # type: ignore[attr-defined]
    assert needles(parse(r"\b(?:is not|stopped) breath(?:ing)?\b", REGEX_FLAGS)) == {" breath"}
    assert needles(parse(r"\bdolor (?:en el|de) pecho\b", REGEX_FLAGS)) == {"dolor "}
    # A class of letters that fold alike is one letter; a small class is spelled out.
    assert needles(parse(r"x[eé]z", REGEX_FLAGS)) == {"xez", "xéz"}
    assert needles(parse(r"想自[杀殺]", REGEX_FLAGS)) == {"想自杀", "想自殺"}
    assert needles(parse(r"\w+\s+\d", REGEX_FLAGS)) is None
    assert needles(parse(r"(?:ab)?c*", REGEX_FLAGS)) is None


@pytest.mark.parametrize(
    "text", ["k\u0131ll myself", "K\u0130LL MYSELF", "kill my\u017felf", "\u212aill myself", "KILL MYSELF"]
)
def test_needles_are_compared_as_re_compares_letters(text: str) -> None:
    """`re` ignoring case takes dotless "\u0131" for "i", long "\u017f" for "s" and the Kelvin sign for "k":
    so does the fold."""
    pattern = rx(r"\bkill myself\b")
    assert pattern.search(text) is not None
    assert "kill myself" in fold(text)
    prefiltered = Prefiltered(pattern)
    assert prefiltered.search(text, NeedleIndex(prefiltered.needles()).present(fold(text))) is not None


def test_the_first_branch_wins_a_tie_and_the_leftmost_match_wins() -> None:
    pattern = rx(r"ab", r"abc", r"b")
    prefiltered = Prefiltered(pattern)
    present = {"ab", "abc", "b"}
    for text in ("xabc", "bab", "abc b", "zzz"):
        expected = pattern.search(text)
        got = prefiltered.search(text, present)
        assert (got and got.span()) == (expected and expected.span())


def test_a_branch_whose_needles_are_absent_never_runs() -> None:
    prefiltered = Prefiltered(rx(r"\bchest pain\b.{0,30}\bnow\b"))
    assert prefiltered.search("chest pain now", set()) is None  # the needle was not reported present
    assert prefiltered.search("chest pain now", {"chest pain"}) is not None


def test_the_needle_index_reports_every_needle_in_a_text() -> None:
    for text in ["I want to kill myself tonight", "我真的不想活了", "no hay evidencia", "x"]:
        folded = fold(normalise(text).text)
        assert INDEX.present(folded) == {n for n in ALL_NEEDLES if n in folded}


@pytest.mark.parametrize("case", POSITIVES, ids=lambda case: case["rule"])
def test_rule_tables_fire_as_the_patterns_do(case: dict[str, str]) -> None:
    assert by_evaluate(case["text"]) == by_pattern(case["text"])


_LITERAL_PHRASES = sorted(
    {
        piece
        for languages in PHRASES.values()
        for patterns in languages.values()
        for pattern in patterns
        for piece in re.split(r"\\[bsdw]|[\\()?|\[\]{}*+.^$!<=:]", pattern)
        if len(piece.strip()) > 2
    }
)
_PIECES = st.sampled_from([*ALL_NEEDLES, *_LITERAL_PHRASES, *(case["text"] for case in POSITIVES)])
_NOISE = st.lists(
    st.sampled_from(
        [*" .,!?'\u200b\u0131\u0130\u017f\u212aé1@\n", *"aeiklmnorstuy", "lol", "now", "tonight", "😂"]
    ),
    max_size=6,
).map("".join)


# Ways of writing a piece that `re` ignoring case still reads as the same letters.
_SPELLINGS = (
    str,
    str.upper,
    lambda piece: piece.replace("i", "\u0131"),
    lambda piece: piece.replace("I", "\u0130").replace("i", "\u0130"),
    lambda piece: piece.replace("s", "\u017f"),
    lambda piece: piece.replace("k", "\u212a"),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_NOISE, _PIECES, st.sampled_from(_SPELLINGS)), min_size=1, max_size=5))
def test_phrases_with_insertions_fire_as_the_patterns_do(parts: list[tuple[str, str, Any]]) -> None:
    """Phrases of the rules, the phrase lists and the rule tables, joined with noise, spelled at random."""
    text = "".join(noise + spell(piece) for noise, piece, spell in parts)
    assert by_evaluate(text) == by_pattern(text)
