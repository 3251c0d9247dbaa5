"""The reply template catalogue (`templates.yaml`): per label a public and a private variant, English and
Spanish, each with the guidance it follows and the sources behind that guidance."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field
from triage_events import Label, Platform

CATALOGUE = Path(__file__).with_name("templates.yaml")
LANGUAGES = ("en", "es")
# Platforms where an account can answer a comment with a private message (Meta private replies).
PRIVATE_REPLY_PLATFORMS = frozenset({Platform.FACEBOOK.value, Platform.INSTAGRAM.value})


class ReplyTemplate(BaseModel):
    id: str
    label: Label
    variant: str = Field(pattern="^(public|private)$")
    needs_approval: bool = False
    guidance: list[str]
    sources: list[str]
    text: dict[str, str]

    @property
    def private(self) -> bool:
        return self.variant == "private"


@lru_cache
def load_catalogue(path: Path = CATALOGUE) -> dict[str, ReplyTemplate]:
    """Templates by id; a malformed catalogue fails loudly at start-up rather than at reply time."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    templates = [ReplyTemplate.model_validate(entry) for entry in raw]
    by_id = {t.id: t for t in templates}
    if len(by_id) != len(templates):
        raise ValueError("duplicate template ids in the catalogue")
    for template in templates:
        missing = [lang for lang in LANGUAGES if lang not in template.text]
        if missing:
            raise ValueError(f"template {template.id} lacks languages {missing}")
    return by_id


def templates_for(
    labels: list[str], platform: str, suggested: list[str] | None = None
) -> list[ReplyTemplate]:
    """The templates that fit a flag: suggested ones first, then the rest for its labels; private variants
    only where the platform allows a private reply."""
    catalogue = load_catalogue()
    ids = [*(suggested or []), *(f"{label}.{v}" for label in labels for v in ("public", "private"))]
    chosen: list[ReplyTemplate] = []
    for template_id in dict.fromkeys(ids):
        template = catalogue.get(template_id)
        if template is None or (template.private and platform not in PRIVATE_REPLY_PLATFORMS):
            continue
        chosen.append(template)
    return chosen
