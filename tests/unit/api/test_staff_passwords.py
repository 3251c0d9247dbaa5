"""The password policy: the passwords an outside test got accepted are refused with a reason that never
repeats the password, and the passwords `triage run` and the bootstrap generate always pass (a refusal there
would stop the API from starting)."""

from __future__ import annotations

import secrets

import pytest
from triage_api.staff.passwords import WeakPassword, check_new_password


@pytest.mark.parametrize(
    ("password", "username", "reason"),
    [
        ("aaaaaaaaaaaa", "nina", "different characters"),
        ("password1234", "nina", "too easy to guess"),
        ("Password1234!", "nina", "too easy to guess"),
        ("12345678901234", "nina", "sequence"),
        ("zyxwvutsrqp9", "nina", "sequence"),
        ("k9#Lm2k9#Lm2k9#Lm2", "nina", "repeated"),
        ("s.okafor.2026.works", "s.okafor", "username"),
        ("rofako.s and more words", "s.okafor", "username"),
        ("short one", "nina", "at least 12"),
        ("x" * 200 + "q" * 57, "nina", "at most 256"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, username: str, reason: str) -> None:
    with pytest.raises(WeakPassword) as refused:
        check_new_password(password, username)
    assert reason in str(refused.value)
    assert password not in str(refused.value)


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "tulip orbit cobalt 88", "Vq3#mLp9!tRw"]
)
def test_strong_passwords_pass(password: str) -> None:
    check_new_password(password, "nina.okafor", "Nina Okafor")


def test_generated_passwords_always_pass() -> None:
    for _ in range(300):
        check_new_password(secrets.token_urlsafe(12), "admin", "Administrator")  # `triage run`'s
        check_new_password(secrets.token_urlsafe(32)[:20], "admin", "Administrator")  # the bootstrap's
