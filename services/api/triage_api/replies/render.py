"""Rendering reply templates in a Jinja2 sandbox with strict undefined variables.

Templates are approved content, but a sandbox still keeps an edited or mistaken template from reaching
Python internals, and `StrictUndefined` turns a missing setting into an error instead of a blank in a
published reply.
"""

from __future__ import annotations

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from triage_api.replies.catalogue import ReplyTemplate

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


class RenderError(ValueError):
    """A template could not be rendered (a missing variable, an unsafe expression)."""


def render_text(source: str, variables: dict[str, str]) -> str:
    try:
        return _ENV.from_string(source).render(**variables).strip()
    except TemplateError as exc:
        raise RenderError(str(exc)) from exc


def render(template: ReplyTemplate, language: str, variables: dict[str, str]) -> str:
    """The template's text in `language` (English if it has none), variables filled in."""
    source = template.text.get(language) or template.text["en"]
    # The handle may be empty (a comment without an author): the texts read well without it.
    empty = [name for name, value in variables.items() if name in source and not value and name != "handle"]
    if empty:
        raise RenderError(f"account setting(s) not configured: {', '.join(sorted(empty))}")
    return render_text(source, variables)
