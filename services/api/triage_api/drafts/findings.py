"""What a check finds in a draft: the kind, the span it points at, the guidance it follows and a fix."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from triage_api.drafts.rules import rules

TEXT, CAPTION = "text", "caption"


@dataclass(frozen=True)
class Draft:
    """What is checked: the text, where it goes, an image's caption or alt text, links, and sponsorship.
    A reply also carries the comment it answers (the PHI guard compares them)."""

    text: str
    platform: str = "facebook"
    caption: str = ""
    links: tuple[str, ...] = ()
    sponsored: bool = False
    sponsor: str = ""
    reply_to: str | None = None  # the comment's text, for a reply

    @property
    def is_reply(self) -> bool:
        return self.reply_to is not None

    def fields(self) -> list[tuple[str, str]]:
        """The parts that are checked, by name: the text, then the caption when there is one."""
        return [(TEXT, self.text), *([(CAPTION, self.caption)] if self.caption else [])]


@dataclass(frozen=True)
class Finding:
    """One reason a draft needs another look. `start`/`end` point into `field` (the text or the caption)
    as it was given; `blocks` marks the PHI guard's findings on a reply, which no approval lets through."""

    kind: str
    rule: str
    field: str
    start: int
    end: int
    message: str
    fix: str = ""
    guidelines: tuple[str, ...] = ()
    blocks: bool = False
    excerpt: str = dataclasses.field(default="", compare=False)

    @property
    def title(self) -> str:
        return str(rules().kinds[self.kind]["title"])

    def reason(self) -> str:
        """One line for a person: "Individual clinical advice: gives a dose (ACP/FSMB ...)"."""
        cited = "; ".join(self.guidelines)
        return f"{self.title}: {self.message}" + (f" ({cited})" if cited else "")


def make(
    kind: str, rule: str, field_name: str, span: tuple[int, int], message: str, fix: str = "", **extra: object
) -> Finding:
    """A finding of `kind`, with that kind's guidance and (unless the rule has its own) its fix."""
    table = rules()
    info = table.kinds[kind]
    return Finding(
        kind=kind,
        rule=rule,
        field=field_name,
        start=span[0],
        end=span[1],
        message=message,
        fix=fix or str(info["fix"]),
        guidelines=tuple(table.guidelines[g] for g in info["guidelines"]),
        blocks=bool(extra.get("blocks", False)),
        excerpt=str(extra.get("excerpt", "")),
    )
