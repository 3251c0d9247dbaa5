"""What a new staff password must be: long enough, not a repetition or a run of one character sequence, not
built on the username, and not guessable by zxcvbn's estimate (common passwords, dictionary words with
substitutions, keyboard walks, dates, names).

zxcvbn (the Python port of Dropbox's estimator, `zxcvbn` on PyPI) is used rather than a hand-written list:
it ships the frequency lists of common passwords, words and names, and scores the cheapest way to guess the
whole password, which a blocklist cannot. It is small, has no dependencies, and is kept up (4.5 in 2025).
Its result is a score from 0 to 4; 3 (at least 10^8 guesses) is required. The explicit checks before it
give a clear reason for the commonest refusals. zxcvbn keeps the user inputs of a call in a module-level
dictionary, so calls are serialised.

Checked wherever a password is set: creating a user, an admin's reset, and the bootstrap admin's password
from the environment. Never logged.
"""

from __future__ import annotations

import itertools
import re
import threading

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 256
MIN_SCORE = 3  # zxcvbn: "safely unguessable", at least 10^8 guesses
MIN_DISTINCT = 6  # different characters
_ZXCVBN_LENGTH = 72  # zxcvbn refuses longer input; the first 72 characters are scored
_REPEATED = re.compile(r"(.+?)\1+", re.DOTALL)
_SEPARATORS = re.compile(r"[\s._@+-]+")
_zxcvbn_lock = threading.Lock()


class WeakPassword(ValueError):
    """A password refused by the policy; the message says why (it never contains the password)."""


def check_new_password(password: str, username: str, display_name: str = "") -> None:
    """Raise `WeakPassword` with the reason when `password` may not be set for `username`."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password must be at most {MAX_LENGTH} characters long")
    if len(set(password.lower())) < MIN_DISTINCT:
        raise WeakPassword(f"the password must use at least {MIN_DISTINCT} different characters")
    if _REPEATED.fullmatch(password):
        raise WeakPassword("the password must not be one piece repeated")
    if _longest_sequence(password.lower()) * 2 >= len(password):
        raise WeakPassword("the password must not be mostly a sequence such as abcdef or 123456")
    if _contains_name(password, username):
        raise WeakPassword("the password must not contain the username")
    with _zxcvbn_lock:
        result = zxcvbn(password[:_ZXCVBN_LENGTH], user_inputs=_user_inputs(username, display_name))
    if result["score"] < MIN_SCORE:
        warning = (result["feedback"]["warning"] or "").rstrip(".")
        reason = f" ({warning[:1].lower()}{warning[1:]})" if warning else ""
        raise WeakPassword(f"the password is too easy to guess{reason}; choose a longer, less common one")


def _longest_sequence(text: str) -> int:
    """The longest run of characters each one up or one down from the previous (abcd, 4321)."""
    longest = run = 1 if text else 0
    step = 0
    for previous, current in itertools.pairwise(text):
        difference = ord(current) - ord(previous)
        if difference in (1, -1) and difference == step:
            run += 1
        elif difference in (1, -1):
            run, step = 2, difference
        else:
            run, step = 1, 0
        longest = max(longest, run)
    return longest


def _contains_name(password: str, username: str) -> bool:
    """The username (at least 3 characters), forwards or backwards, in any case, separators ignored."""
    name = _SEPARATORS.sub("", username.lower())
    if len(name) < 3:
        return False
    flat = _SEPARATORS.sub("", password.lower())
    return name in flat or name[::-1] in flat


def _user_inputs(username: str, display_name: str) -> list[str]:
    words = [username, display_name, "triage"]
    words += [part for part in _SEPARATORS.split(f"{username} {display_name}") if len(part) >= 3]
    return [w for w in words if w]
