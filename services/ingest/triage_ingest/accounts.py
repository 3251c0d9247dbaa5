"""The health system's accounts, from configuration: which platform ids are ours, and how to act on them.

A YAML or JSON file (`TRIAGE_INGEST_ACCOUNTS_FILE`):

    accounts:
      - platform: facebook
        id: "104512345678901"            # the Page id (Instagram: the IG professional account id)
        handle: "@brightwaterhealth"
        credentials:                     # credential -> NAME of the env variable / secrets-file entry
          access_token: TRIAGE_FB_BRIGHTWATER_TOKEN
        reply_vars:
          appointment_url: https://brightwater.example/appointments
          nurse_line: "+1 555 0100"

Credentials are never in this file, only the names they are found under.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field
from triage_events import Account, Platform

UNKNOWN_ACCOUNT = "unknown"


class AccountConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: Platform
    id: str = Field(min_length=1, max_length=256)
    handle: str = ""
    credentials: dict[str, str] = Field(default_factory=dict)
    reply_vars: dict[str, str] = Field(default_factory=dict)
    # What a poller reads for this account, where the id alone does not say: Reddit `r/<subreddit>` or
    # `user/<name>` (default `r/<id>`). Unused by X (mentions of the id) and YouTube (the channel's threads).
    target: str = ""

    def account(self) -> Account:
        return Account(id=self.id, handle=self.handle)


class Accounts:
    """Lookup of configured accounts by (platform, id); resolves credentials through `secret`."""

    def __init__(
        self, configs: Iterable[AccountConfig] = (), secret: Callable[[str], str | None] | None = None
    ) -> None:
        self._by_key = {(c.platform, c.id): c for c in configs}
        self._secret = secret or (lambda _name: None)

    def __len__(self) -> int:
        return len(self._by_key)

    def configs(self, *platforms: Platform) -> list[AccountConfig]:
        """The configured accounts of these platforms (all when none is named), in file order."""
        return [c for c in self._by_key.values() if not platforms or c.platform in platforms]

    def get(self, platform: Platform, account_id: str) -> AccountConfig | None:
        return self._by_key.get((platform, account_id))

    def account(self, platform: Platform, account_id: str) -> Account:
        """The event's account: the configured handle when known, the bare id otherwise."""
        config = self.get(platform, account_id)
        return config.account() if config else Account(id=account_id)

    def metric_label(self, platform: Platform, account_id: str) -> str:
        """The account label for metrics: only configured ids, so labels stay few."""
        return account_id if self.get(platform, account_id) else UNKNOWN_ACCOUNT

    def configured(self, account_id: str) -> bool:
        """Whether any platform has this account id configured (webhooks may not say which platform)."""
        return any(key[1] == account_id for key in self._by_key)

    def credential(self, platform: Platform, account_id: str, name: str) -> str | None:
        config = self.get(platform, account_id)
        if config is None or name not in config.credentials:
            return None
        return self._secret(config.credentials[name])


def load_accounts(path: Path | None, secret: Callable[[str], str | None] | None = None) -> Accounts:
    """Read the accounts file (None: no accounts configured). Raises ValueError when it is malformed."""
    if path is None:
        return Accounts((), secret)
    text = path.read_text(encoding="utf-8")
    data: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    items = data.get("accounts") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError(f"accounts file {path} must hold a list under 'accounts'")
    return Accounts([AccountConfig.model_validate(item) for item in items], secret)
