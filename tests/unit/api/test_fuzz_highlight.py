"""Property-based tests of the evidence highlighter and its template: whatever the comment text and whatever
spans arrive with a flag (out of range, overlapping, hostile labels), the segments cover the text exactly and
the rendered HTML shows the text escaped, with no markup but the highlighter's own."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from triage_api.dashboard.highlight import segments

TEMPLATES = Jinja2Templates(
    directory=Path(__import__("triage_api").__file__).parent / "dashboard" / "templates"
)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOSTILE = st.sampled_from(
    ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{ 7*7 }}", "{% raw %}", "&amp;", "'"]
)
texts = st.lists(st.text(max_size=30) | HOSTILE, max_size=6).map("".join)
bounds = st.integers(min_value=-5, max_value=400) | st.sampled_from([0, 2**63, -(2**63)])
spans = st.fixed_dictionaries(
    {"start": bounds, "end": bounds},
    optional={"label": st.text(max_size=12) | HOSTILE, "rule_id": st.none() | st.text(max_size=12) | HOSTILE},
)
MARK = re.compile(r'<mark class="ev ev-[^"<>]*" title="[^"<>]*">|</mark>')


@FAST
@given(texts, st.lists(spans | st.dictionaries(st.text(max_size=5), st.integers(), max_size=3), max_size=8))
def test_segments_cover_any_text_exactly_and_are_never_empty(
    text: str, evidence: list[dict[str, Any]]
) -> None:
    parts = segments(text, evidence)
    assert "".join(p.text for p in parts) == text
    assert all(p.text for p in parts)


@FAST
@given(texts, st.lists(spans, max_size=6))
def test_the_rendered_comment_is_the_text_escaped_with_only_highlight_markup(
    text: str, evidence: list[dict[str, Any]]
) -> None:
    rendered = TEMPLATES.env.get_template("_comment.html").render(segs=segments(text, evidence))
    without_marks = MARK.sub("", rendered)
    assert "<" not in without_marks and ">" not in without_marks
    assert html.unescape(without_marks) == text
