"""Per-account settings that fill template variables (phone lines, links), from a YAML file.

The file maps account ids to settings; the entry `"*"` holds the defaults every account inherits.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

EXAMPLE = Path(__file__).with_name("accounts.example.yaml")


class AccountSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation: str = "our hospital"
    appointment_url: str = ""
    nurse_line: str = ""
    patient_relations_phone: str = ""
    portal_url: str = ""
    source_url: str = "https://www.cdc.gov"
    language: str = "en"

    def variables(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.model_dump().items() if k != "language"}

    def phone_numbers(self) -> list[str]:
        """The account's own lines: a reply may contain these numbers."""
        return [n for n in (self.nurse_line, self.patient_relations_phone) if n]


class AccountBook:
    def __init__(self, entries: dict[str, dict[str, str]]) -> None:
        self._defaults = entries.get("*", {})
        self._entries = entries

    @classmethod
    def load(cls, path: Path | None) -> AccountBook:
        raw = yaml.safe_load((path or EXAMPLE).read_text(encoding="utf-8")) or {}
        book = cls(raw)
        for account_id in raw:  # validate every entry at start-up
            book.get(account_id)
        return book

    def get(self, account_id: str) -> AccountSettings:
        return AccountSettings.model_validate({**self._defaults, **self._entries.get(account_id, {})})
