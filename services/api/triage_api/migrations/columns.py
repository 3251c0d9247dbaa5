"""Column runs that more than one migration creates, written once.

Frozen: a migration is history, and what it creates must not change after it has run anywhere, so a function
here is never edited once a migration calls it. A table that needs other columns gets a new function (or
writes its columns out), even when they differ from an existing one by a single column or length; a builder
that another uses (`account_columns` in `comment_columns`) is frozen for both. Each call returns new `Column`
objects: a column belongs to one table.
"""

from typing import Any

import sqlalchemy as sa


def account_columns() -> list[sa.Column[Any]]:
    """The account a row is about, on its platform: `flags` (0001, through `comment_columns`), `alerts` (0002)
    and `comments` (0012)."""
    return [
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(256), nullable=False),
        sa.Column("account_handle", sa.String(256), nullable=False),
    ]


def comment_columns() -> list[sa.Column[Any]]:
    """Which comment a row is about and what it said, as the platform gave it: `flags` (0001) and `comments`
    (0012) carry these ten columns, in this order, after their `id`."""
    return [
        sa.Column("comment_key", sa.String(600), nullable=False, unique=True),
        *account_columns(),
        sa.Column("platform_comment_id", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("author_id", sa.String(256), nullable=False),
        sa.Column("author_handle", sa.String(256), nullable=False),
        sa.Column("permalink", sa.String(2048), nullable=True),
    ]
