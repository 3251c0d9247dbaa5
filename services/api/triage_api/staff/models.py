"""Staff accounts, browser sessions and API tokens. Secrets are stored only as hashes."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from triage_api.db import Base


class Role(enum.StrEnum):
    VIEWER = "viewer"
    MODERATOR = "moderator"
    LEAD = "lead"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, required: Role) -> bool:
        return self.rank >= required.rank


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str | None] = mapped_column(String(256))  # None: signs in through OIDC only
    email: Mapped[str | None] = mapped_column(String(320), unique=True, default=None)  # lower-case; OIDC link
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The queue order this person chose on the desk (`flags.service.QueueOrder`; migration 0009). None: never
    # chose, so the desk lists what needs a human first.
    queue_order: Mapped[str | None] = mapped_column(String(16), default=None)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SigninCounter(Base):
    """Failed sign-ins counted per account (the username asked for, known or not) and per client address, so a
    lock holds across API processes and restarts (`staff.throttle`)."""

    __tablename__ = "signin_throttle"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)  # "account" or "address"
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)  # a username, or an address (network)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # attempts counted in the current window
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lockouts: Mapped[int] = mapped_column(Integer, default=0)  # locks in a row: the back-off's exponent
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    forget_after: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)  # then pruned
