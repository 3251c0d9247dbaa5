"""The text view both normalisers build on: every character keeps the way back to the original."""

from __future__ import annotations

import re

from triage_text import Normalised, clusters, fold_clusters, latin_lookalike


def identity(text: str) -> Normalised:
    return fold_clusters(text, lambda cluster: cluster)


def test_a_cluster_is_a_base_character_with_the_combining_marks_after_it() -> None:
    assert clusters("e\u0301ta\u0300\u0323") == [(0, 2), (2, 3), (3, 6)]


def test_folded_characters_point_at_the_cluster_they_came_from() -> None:
    view = fold_clusters("a\u0301\ufb01x", lambda cluster: {"\ufb01": "fi"}.get(cluster, cluster[0]))

    assert view.text == "afix"
    assert [view.origin(i, i + 1) for i in range(len(view.text))] == [(0, 2), (2, 3), (2, 3), (3, 4)]
    assert view.origin(4, 4) == (4, 4)


def test_a_replacement_of_another_length_points_at_the_whole_match() -> None:
    view = identity("call nine one one now").substitute(re.compile(r"nine one one"), lambda _m: "911")

    assert view.text == "call 911 now"
    assert view.origin(5, 8) == (5, 17)
    assert view.origin(5, 6) == (5, 17)
    assert view.origin(9, 12) == (18, 21)


def test_a_replacement_of_the_same_length_keeps_each_characters_origin() -> None:
    view = identity("k1ll now").substitute(re.compile(r"k1ll"), lambda _m: "kill")

    assert view.text == "kill now"
    assert view.origin(1, 2) == (1, 2)


def test_a_substitution_that_changes_nothing_returns_the_same_view() -> None:
    view = identity("plain words")

    assert view.substitute(re.compile(r"\w+"), lambda m: m.group(0)) is view


def test_letters_of_other_scripts_that_look_latin_have_their_latin_letter() -> None:
    assert latin_lookalike("\u0456") == "i"  # Cyrillic i
    assert latin_lookalike("\u03bf") == "o"  # Greek omicron
    assert latin_lookalike("e") is None
    assert latin_lookalike("\u00e9") is None  # a Latin letter with an accent is Latin already
    assert latin_lookalike("7") is None
