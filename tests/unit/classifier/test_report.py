"""`triage train --report` regenerates docs/model.md from the artefact, and keeps the languages section,
which is measured through the whole classifier (`triage eval`) rather than read from the artefact."""

from __future__ import annotations

from pathlib import Path

from triage_classifier.artefact import Artefact
from triage_classifier.training.report import LANGUAGES_MARKER, write_model_report

CORPUS = Path(__file__).parents[3] / "data" / "corpus"


def test_the_languages_section_survives_regeneration(tmp_path: Path) -> None:
    page = tmp_path / "model.md"
    page.write_text(f"# old page\n\nold numbers\n\n{LANGUAGES_MARKER}\n\n## Languages\n\n| vi | 0.97 |\n")

    write_model_report(Artefact.load(), CORPUS, page)

    text = page.read_text()
    assert "old numbers" not in text
    assert text.startswith("# The classifier model")
    assert text.count(LANGUAGES_MARKER) == 1
    assert text.endswith(f"{LANGUAGES_MARKER}\n\n## Languages\n\n| vi | 0.97 |\n")


def test_a_page_without_the_section_gets_none(tmp_path: Path) -> None:
    page = tmp_path / "model.md"

    write_model_report(Artefact.load(), CORPUS, page)
    write_model_report(Artefact.load(), CORPUS, page)

    assert LANGUAGES_MARKER not in page.read_text()
    assert "## Limits worth knowing" in page.read_text()
