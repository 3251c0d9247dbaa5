"""The replies that fit a flag: the language to answer in, and the reply templates filled in with the
account's settings and checked by the PHI guard."""

from __future__ import annotations

from triage_api.flags import platform_actions
from triage_api.flags.models import Flag
from triage_api.flags.schemas import SuggestionOut
from triage_api.replies.accounts import AccountBook
from triage_api.replies.catalogue import languages, templates_for
from triage_api.replies.guard import check_reply
from triage_api.replies.render import RenderError, render


def comment_language(flag: Flag, accounts: AccountBook) -> str:
    """The language to answer a flag in: the comment's own (as the classifier identified it) where a template
    is written in it, else the account's language setting."""
    if flag.language is not None and flag.language in languages():
        return flag.language
    return accounts.get(flag.account_id).language


def suggestions(flag: Flag, accounts: AccountBook, language: str | None = None) -> list[SuggestionOut]:
    """The templates that fit a flag, filled in with the account's settings in every language and checked by
    the PHI guard; `text` and `blocked` are those of `language` (the comment's language by default)."""
    settings = accounts.get(flag.account_id)
    lang = language or comment_language(flag, accounts)
    variables = {**settings.variables(), "handle": platform_actions.commenter_handle(flag)}
    out = []
    for t in templates_for(flag.labels, flag.platform, flag.suggested_templates, flag.evidence):
        texts: dict[str, str] = {}
        blocked: dict[str, list[str]] = {}
        for code in dict.fromkeys([lang, *t.text]):
            try:
                texts[code] = render(t, code, variables)
                blocked[code] = check_reply(texts[code], flag.text, settings.phone_numbers()).reasons
            except RenderError as exc:
                blocked[code] = [str(exc)]
        out.append(
            SuggestionOut(
                id=t.id,
                title=t.title,
                variant=t.variant,
                language=lang,
                text=texts.get(lang),
                guidance=t.guidance,
                sources=t.sources,
                needs_approval=t.needs_approval or "misinformation" in flag.labels,
                blocked=blocked[lang],
                texts={code: text for code, text in texts.items() if code in t.text},
                blocked_by_language={code: why for code, why in blocked.items() if code in t.text},
            )
        )
    return out
