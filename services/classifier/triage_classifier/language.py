"""Which language a comment is written in, and whether the classifier covers it.

Identification is `py3langid` (a maintained fork of langid.py: a naive Bayes model over byte n-grams, its
model file inside the wheel, about 4.5 MB installed, some 0.03 ms a comment). It was preferred to
`lingua-language-detector`, which is more accurate on very short texts but is a 96 MB install and has no
Haitian Creole, one of the languages the hospital's patients write in. The model is restricted to the
covered languages and the other languages most often written in a US city, so that it picks among
plausible answers; two small word lists settle the cases byte n-grams get wrong: Vietnamese typed without
its diacritics and Haitian Creole (langid takes both for French or Finnish on short comments).

A comment too short to tell (fewer than `MIN_LETTERS` letters outside digits and links) has no language,
unless its script says it (Hangul, Han, Arabic). A comment is *unsupported* only when the identifier is
sure (probability at least `SURE`) of a language the classifier does not cover, or when its letters are
mostly of a script no covered language uses: then the classifier's silence means nothing, and a person
should read it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache

from triage_classifier.normalise import Normalised, normalise

# The languages the rules (and, for English and Spanish, the model) are written for.
COVERED = frozenset({"en", "es", "zh", "vi", "tl", "ar", "ko", "ru", "ht", "pt", "fr"})
# The languages the fine-tuned encoder and its heads were trained on; the others are judged by the rules.
MODEL_LANGUAGES = frozenset({"en", "es"})
UNSUPPORTED_SCRIPT = "und"

# Varieties the identifier tells apart that the classifier treats as one language.
_SAME = {"yue": "zh", "wuu": "zh", "ary": "ar", "arz": "ar", "gcf": "ht", "gcr": "ht"}
_OTHERS = (
    "de it ja hi pl uk fa he tr th id ms nl ur bn el ro hu cs sv pa ta te am so sw ne km lo my hy ka ha yo "
    "ig gu ml mr sq sr hr bg ca da no fi"
)
CANDIDATES = tuple(sorted({*COVERED, *_SAME, *_OTHERS.split()}))
MIN_LETTERS = 12
SURE = 0.95
LIKELY = 0.5  # enough to name the language of a script no covered language uses
MIN_LETTERS_UNSUPPORTED = 25

# Words of Vietnamese typed without diacritics, and of Haitian Creole, that other candidate languages
# rarely use; two different ones in a comment decide.
_VIETNAMESE_WORDS = """
    toi khong hok duoc dc nguoi cua minh roi nay voi muon chet giup cuu nhung nhieu benh vien thuoc khoe
    nguc tui gio sao ngay
"""
_VIETNAMESE = frozenset(_VIETNAMESE_WORDS.split())
_HAITIAN_WORDS = """
    mwen tanpri kounye lopital pitit ede vle mouri touye konnen kijan poukisa anpil yon kap mezanmi bondye
    manman zanmi kenbe fanmi jodia demen aswe
"""
_HAITIAN = frozenset(_HAITIAN_WORDS.split())
# The covered language a script most likely means, when the text is too short, or the identifier unsure.
_SCRIPT_LANGUAGE = {"hangul": "ko", "han": "zh", "arabic": "ar", "cyrillic": "ru"}
_MARKER_WORD = re.compile(r"[a-z]+")
_LINK = re.compile(r"\S+\.\S+/\S*|https?://\S+|[@#]\w+")


@dataclass(frozen=True)
class Reading:
    """A comment as the classifier reads it: the normalised view, its language (None: too short to tell),
    and whether that language is one the classifier does not cover."""

    view: Normalised
    language: str | None
    unsupported: bool = False

    @property
    def for_model(self) -> bool:
        """Whether the fine-tuned encoder reads this language (or, with no language, Latin script)."""
        if self.language is None:
            return _script(self.view.text) == "latin"
        return self.language in MODEL_LANGUAGES


def load() -> None:
    """Load language identification's model now (a worker at start) rather than at the first comment read."""
    _identifier()


@cache
def _identifier():  # type: ignore[no-untyped-def]
    """py3langid's identifier over `CANDIDATES` only, counting features with a table of its automaton's states
    rather than walking the automaton (`langid_states`: the same scores in 40 MiB less). Built from the
    candidates' columns of the model rather than with `set_languages`, which keeps the full table (142
    languages, 27 MiB) beside the subset for a reset this classifier never does; the scores are the same."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE
    from py3langid.modelio import load_model

    from triage_classifier.langid_states import StateTable, TableIdentifier

    table, priors, classes, transitions, state_rows, outputs = load_model(MODEL_DIR / MODEL_FILE)
    states = StateTable(transitions, state_rows, outputs)
    del transitions, state_rows, outputs
    keep = [index for index, code in enumerate(classes) if code in CANDIDATES]
    subset = table[:, keep].copy()
    del table
    return TableIdentifier(states, subset, priors[keep], [classes[i] for i in keep])


_MARKERS = (
    ("latin", "LATIN"),
    ("hangul", "HANGUL"),
    ("kana", "KATAKANA"),
    ("kana", "HIRAGANA"),
    ("han", "CJK"),
    ("arabic", "ARABIC"),
    ("cyrillic", "CYRILLIC"),
)


@cache
def _char_script(char: str) -> str | None:
    """The script of one character (see `_script`); None for a character that is not a letter. Cached: a
    comment's characters are mostly ones already seen."""
    if not char.isalpha():
        return None
    if char.isascii():
        return "latin"
    name = unicodedata.name(char, "")
    return next((key for key, marker in _MARKERS if name.startswith(marker)), "other")


def _script(text: str) -> str | None:
    """The script most of the letters are in: latin, han, hangul, kana, arabic, cyrillic, other; None
    without letters."""
    if text.isascii():
        return "latin" if any(map(str.isalpha, text)) else None
    counts = Counter(map(_char_script, text))  # in order of first appearance, as `max` breaks ties
    counts.pop(None, None)
    if not counts:
        return None
    if counts.get("kana"):
        return "kana"  # Japanese mixes kana into Han text
    return max(counts, key=lambda key: counts[key])


def _markers(words: list[str], vocabulary: frozenset[str]) -> int:
    return len({word for word in words if word in vocabulary})


def identify(view: Normalised) -> tuple[str | None, bool]:
    """The language of a normalised comment (None: cannot tell) and whether it is unsupported."""
    text = _LINK.sub(" ", view.text)
    letters = sum(map(str.isalpha, text))
    script = _script(text)
    if script is None:
        return None, False
    if script in _SCRIPT_LANGUAGE and letters < MIN_LETTERS:
        return _SCRIPT_LANGUAGE[script], False
    words = _MARKER_WORD.findall(text.lower())
    if script == "latin" and _markers(words, _HAITIAN) >= 2:
        return "ht", False
    if script == "latin" and _markers(words, _VIETNAMESE) >= 2:
        return "vi", False
    if letters < MIN_LETTERS:
        return None, False
    # The original spelling: accents and diacritics are what tell many languages apart.
    code, probability = _identifier().classify(_LINK.sub(" ", view.original))
    code = _SAME.get(code, code)
    if code in COVERED:
        return code, False
    if script in _SCRIPT_LANGUAGE and probability < SURE:
        return _SCRIPT_LANGUAGE[script], False  # unsure between neighbours (uk, bg; fa, ur): the covered one
    if script == "other" and letters >= MIN_LETTERS_UNSUPPORTED:
        return code if probability >= LIKELY else UNSUPPORTED_SCRIPT, True
    if probability >= SURE and letters >= MIN_LETTERS_UNSUPPORTED:
        return code, True
    return None, False


def read(text: str) -> Reading:
    """Normalise a comment and identify its language."""
    view = normalise(text)
    language, unsupported = identify(view)
    return Reading(view, language, unsupported)
