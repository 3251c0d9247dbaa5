"""The PHI guard's lexicon of health details (`phi_lexicon.yaml`) and its matcher.

Terms are grouped by concept in English and Spanish; a term matches a word by its Snowball stem in the
term's language (the Snowball project's own stemmers through `snowballstemmer`, which runs them compiled
when PyStemmer is installed, as it is with the api extra, rather than a suffix list of our own), by
prefix, exactly, or in capitals only, as the YAML file explains. Matching runs on normalised text (see
`normalise.py`), so the lexicon is written without accents, in lower case.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import snowballstemmer
import yaml

LEXICON = Path(__file__).with_name("phi_lexicon.yaml")
LANGUAGES = {"en": "english", "es": "spanish"}
EXACT_MAX = 5  # words this short match only themselves (or their plural in "s"), never by stem
PREFIX_KEY = 4  # a prefix entry has at least this many letters

_TOKEN = re.compile(r"[^\W_]+")
_stemmers = {code: snowballstemmer.stemmer(name) for code, name in LANGUAGES.items()}
_stem_lock = threading.Lock()  # a stemmer object is not thread-safe: one word at a time


@lru_cache(maxsize=65536)
def stem(word: str, language: str) -> str:
    with _stem_lock:
        return str(_stemmers[language].stemWord(word.lower()))


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str

    @property
    def lower(self) -> str:
        return self.text.lower()


def tokens(text: str) -> list[Token]:
    """Words of normalised text with their offsets (hyphens and apostrophes split words)."""
    return [Token(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]


@dataclass(frozen=True)
class _Word:
    """How one word of a term matches a token."""

    how: str  # "stem", "prefix", "exact" or "caps"
    value: str
    language: str

    def matches(self, token: Token) -> bool:
        if self.how == "caps":
            return token.text == self.value
        if self.how == "prefix":
            return token.lower.startswith(self.value)
        if self.how == "exact":
            return token.lower in (self.value, self.value + "s")
        return stem(token.lower, self.language) == self.value


@dataclass(frozen=True)
class _Term:
    concept: str
    words: tuple[_Word, ...]


@dataclass(frozen=True)
class TermMatch:
    """A health detail found in normalised text: its concept and the tokens [first, last] it spans."""

    concept: str
    first: int
    last: int
    start: int
    end: int


def _entry_words(entry: str) -> list[str]:
    """The words of a lexicon entry, split like text is ("c-section" → c, section), marks kept."""
    words: list[str] = []
    for chunk in entry.split():
        mark, core, star = chunk[:1] == "=", chunk.strip("=*"), chunk.endswith("*")
        parts = _TOKEN.findall(core)
        if parts:
            parts[0] = "=" + parts[0] if mark else parts[0]
            parts[-1] = parts[-1] + "*" if star else parts[-1]
        words.extend(parts)
    return words


def _word(raw: str, language: str) -> _Word:
    if raw.startswith("="):
        return _Word("caps", raw[1:], language)
    if raw.endswith("*"):
        return _Word("prefix", raw[:-1].lower(), language)
    if len(raw) <= EXACT_MAX:
        return _Word("exact", raw.lower(), language)
    return _Word("stem", stem(raw, language), language)


class Lexicon:
    def __init__(self, concepts: dict[str, dict[str, list[str]]]) -> None:
        terms: list[_Term] = []
        for concept, by_language in concepts.items():
            for language, entries in by_language.items():
                if language not in LANGUAGES:
                    raise ValueError(f"lexicon concept {concept}: unknown language {language!r}")
                for entry in entries:
                    words = tuple(_word(w, language) for w in _entry_words(entry))
                    if not words:
                        raise ValueError(f"lexicon concept {concept}: empty entry")
                    terms.append(_Term(concept, words))
        self.terms = tuple(terms)
        self.concepts = frozenset(concepts)
        # Terms by how their first word matches, so a word is compared only with the terms it can start.
        self._by_key: dict[tuple[str, str, str], list[_Term]] = {}
        self._by_prefix: dict[str, list[_Term]] = {}  # keyed by the prefix's first PREFIX_KEY letters
        for term in self.terms:
            first = term.words[0]
            if first.how == "prefix":
                if len(first.value) < PREFIX_KEY:
                    raise ValueError(f"lexicon concept {concept}: prefix {first.value!r} is too short")
                self._by_prefix.setdefault(first.value[:PREFIX_KEY], []).append(term)
            else:
                language = first.language if first.how == "stem" else ""
                self._by_key.setdefault((first.how, language, first.value), []).append(term)

    def _candidates(self, token: Token) -> list[_Term]:
        lower = token.lower
        keys = [("caps", "", token.text), ("exact", "", lower)]
        if lower.endswith("s"):
            keys.append(("exact", "", lower[:-1]))
        keys.extend(("stem", language, stem(lower, language)) for language in LANGUAGES)
        found = [term for key in keys for term in self._by_key.get(key, ())]
        prefixed = self._by_prefix.get(lower[:PREFIX_KEY], ())
        return found + [t for t in prefixed if lower.startswith(t.words[0].value)]

    @classmethod
    def load(cls, path: Path = LEXICON) -> Lexicon:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls(raw["concepts"])

    def find(self, words: list[Token]) -> list[TermMatch]:
        """Every term found in `words`, longest first where two start at one word."""
        found: list[TermMatch] = []
        i = 0
        while i < len(words):
            best: TermMatch | None = None
            for term in self._candidates(words[i]):
                n = len(term.words)
                if i + n > len(words) or (best and best.last - best.first + 1 >= n):
                    continue
                if all(w.matches(words[i + k]) for k, w in enumerate(term.words)):
                    best = TermMatch(term.concept, i, i + n - 1, words[i].start, words[i + n - 1].end)
            if best:
                found.append(best)
                i = best.last + 1
            else:
                i += 1
        return found


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return Lexicon.load()
