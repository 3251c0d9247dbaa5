"""Sign-in throttling: failed attempts are counted per account and per client address, and after too many
within a window further attempts are refused (429 with Retry-After) for a lock that doubles each time.

Two counters, because the two attacks differ: guessing one account's password from many addresses is stopped
by the account's counter, trying a few passwords against many accounts from one address by the address's.
The account counter is keyed by the username asked for, known or not, so a lock says nothing about whether an
account exists. While a lock holds, even the right password is refused; a success clears the account's
counter (and its back-off) and takes back its own count from the address's.

An attempt is counted *before* its password is checked, in its own committed transaction under a row lock:
parallel guesses (several API processes, a thread pool each) cannot slip past the limit while the first
ones are still hashing. The state is in the database (`signin_throttle`), so a lock holds across processes
and restarts. Rows nobody has touched for a window after their lock ended are pruned.

Usernames (staff ids) and addresses are logged; passwords never are.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from triage_api.config import ApiSettings
from triage_api.db import as_utc, on_conflict_insert
from triage_api.staff.models import SigninCounter
from triage_api.staff.service import now

log = logging.getLogger(__name__)

ACCOUNT = "account"
ADDRESS = "address"
_SUBJECT_LENGTH = 64  # the column's width; usernames are at most 64 characters
_PRUNE_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many attempts a window allows, and how long the locks last (the n-th lock in a row lasts
    `lockout_seconds * 2**(n-1)`, at most `lockout_max_seconds`)."""

    account_failures: int = 5
    address_failures: int = 50
    window_seconds: float = 900.0
    lockout_seconds: float = 60.0
    lockout_max_seconds: float = 3600.0

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> ThrottlePolicy:
        return cls(
            account_failures=settings.signin_account_failures,
            address_failures=settings.signin_address_failures,
            window_seconds=settings.signin_window_seconds,
            lockout_seconds=settings.signin_lockout_seconds,
            lockout_max_seconds=settings.signin_lockout_max_seconds,
        )

    def limit(self, scope: str) -> int:
        return self.account_failures if scope == ACCOUNT else self.address_failures

    def lock_seconds(self, lockouts: int) -> float:
        return min(self.lockout_max_seconds, self.lockout_seconds * 2 ** min(lockouts - 1, 30))


def address_subject(host: str | None) -> str:
    """The address an attempt is counted against: an IPv4 address, or an IPv6 address's /64 (one host's
    allocation, which it can rotate through freely)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return (host or "unknown")[:_SUBJECT_LENGTH]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class SigninThrottle:
    """The sign-in limits of one app. `clock` is the time source (the tests move it forward)."""

    def __init__(self, policy: ThrottlePolicy, clock: Callable[[], datetime] = now) -> None:
        self.policy = policy
        self.clock = clock
        self._pruned_at: datetime | None = None

    def admit(self, db: Session, username: str, host: str | None) -> int | None:
        """Count an attempt against the account and the address before its password is checked. Returns the
        seconds to wait when either is locked (the attempt is then not counted), None to go on. Commits."""
        at = self.clock()
        self._prune(db, at)
        keys = [(ACCOUNT, username[:_SUBJECT_LENGTH]), (ADDRESS, address_subject(host))]
        rows = self._locked_rows(db, keys, at)
        waits = [self._wait(row, at) for row in rows]
        if any(wait is not None for wait in waits):
            db.commit()
            wait = max(w for w in waits if w is not None)
            log.info("sign-in refused while locked username=%s address=%s retry_after=%d", *_who(keys), wait)
            return wait
        for row in rows:
            if as_utc(row.window_started_at) + timedelta(seconds=self.policy.window_seconds) <= at:
                row.failures, row.window_started_at = 0, at  # a new window; the back-off is kept until pruned
            row.failures += 1
            row.forget_after = max(at, _aware(row.locked_until) or at) + timedelta(
                seconds=self.policy.window_seconds
            )
        db.commit()
        return None

    def succeeded(self, db: Session, username: str, host: str | None) -> None:
        """The password was right: the account starts afresh, and the address gets this attempt back. Does
        not commit (the caller commits it with the new session)."""
        db.execute(
            delete(SigninCounter).where(
                SigninCounter.scope == ACCOUNT, SigninCounter.subject == username[:_SUBJECT_LENGTH]
            )
        )
        row = db.scalar(
            select(SigninCounter)
            .where(SigninCounter.scope == ADDRESS, SigninCounter.subject == address_subject(host))
            .with_for_update()
        )
        if row is not None and row.failures > 0:
            row.failures -= 1

    def _prune(self, db: Session, at: datetime) -> None:
        """Delete the rows idle for a window after their lock, at most once a minute per process, in a
        transaction of its own (so it never waits on, or holds, the row locks of an attempt)."""
        if self._pruned_at is not None and at - self._pruned_at < _PRUNE_EVERY:
            return
        self._pruned_at = at
        db.execute(delete(SigninCounter).where(SigninCounter.forget_after < at))
        db.commit()

    def _locked_rows(self, db: Session, keys: list[tuple[str, str]], at: datetime) -> list[SigninCounter]:
        """The keys' rows, created when missing, locked until the transaction ends (on SQLite the INSERT
        already takes the database's write lock)."""
        insert = on_conflict_insert(db, SigninCounter)
        fresh = {
            "failures": 0,
            "window_started_at": at,
            "lockouts": 0,
            "locked_until": None,
            "forget_after": at + timedelta(seconds=self.policy.window_seconds),
        }
        db.execute(
            insert.values(
                [{"scope": scope, "subject": subject, **fresh} for scope, subject in keys]
            ).on_conflict_do_nothing(index_elements=["scope", "subject"])
        )
        matches = or_(*(and_(SigninCounter.scope == s, SigninCounter.subject == k) for s, k in keys))
        rows = db.scalars(
            select(SigninCounter)
            .where(matches)
            .order_by(SigninCounter.scope, SigninCounter.subject)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        return list(rows)

    def _wait(self, row: SigninCounter, at: datetime) -> int | None:
        """Seconds left on the row's lock; a row whose window is used up is locked here, for the next step
        of its back-off (so an attempt that used the last try and then succeeded leaves no lock)."""
        locked_until = _aware(row.locked_until)
        if locked_until is not None and locked_until > at:
            return math.ceil((locked_until - at).total_seconds())
        window_open = as_utc(row.window_started_at) + timedelta(seconds=self.policy.window_seconds) > at
        if not window_open or row.failures < self.policy.limit(row.scope):
            return None
        row.lockouts += 1
        seconds = self.policy.lock_seconds(row.lockouts)
        row.locked_until = at + timedelta(seconds=seconds)
        row.failures, row.window_started_at = 0, row.locked_until
        row.forget_after = row.locked_until + timedelta(seconds=self.policy.window_seconds)
        log.warning(
            "sign-in locked scope=%s subject=%s lockouts=%d seconds=%d",
            row.scope,
            row.subject,
            row.lockouts,
            seconds,
        )
        return math.ceil(seconds)


def _aware(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def _who(keys: list[tuple[str, str]]) -> tuple[str, str]:
    return keys[0][1], keys[1][1]
