"""Corrections become training data: flags people raised on comments the classifier passed, and labels they
marked wrong, exported from a real database by `triage feedback export` (a private file), then folded into
`triage train --feedback`: the heads change, the test split is untouched (the same items, and the run's
"before" equals a run without feedback), and an exported text that is in the test split is dropped."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from triage_api.comments.flag_this import raise_flag
from triage_api.comments.models import SeenComment
from triage_api.comments.service import store_judged
from triage_api.db import make_engine, make_sessionmaker, migrate
from triage_api.flags import sla
from triage_api.flags.models import LabelFeedback
from triage_api.flags.service import store_flags
from triage_api.routing.service import Router, RoutingConfig
from triage_api.staff.models import Role
from triage_api.staff.service import Principal
from triage_events import Label

from tests.builders import make_comment, make_flag, make_judged

ROUTER = Router(RoutingConfig.load(None), sla.DEFAULT)  # the bundled example rules

pytestmark = pytest.mark.integration
CORPUS = Path(__file__).parents[2] / "data" / "corpus"
MISSED = [
    "my dad went quiet and his face looks droopy on one side, is the ER open",
    "grandma suddenly can't lift her left arm and her words come out wrong, what do we do",
]


def small_corpus(path: Path) -> Path:
    """Every eighth item of each split: every label present, training in seconds."""
    path.mkdir()
    for split in ("train", "validation", "test"):
        lines = (CORPUS / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        (path / f"{split}.jsonl").write_text("\n".join(lines[::8]) + "\n", encoding="utf-8")
    return path


def run(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "triage_cli", *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def seed_desk(database_url: str, test_text: str) -> None:
    """What the desk holds after people worked it: two misses flagged by a moderator, and a flag whose
    hostile label a moderator marked wrong (its text is in the test split: it must not reach training)."""
    engine = make_engine(database_url)
    migrate(engine)
    factory = make_sessionmaker(engine)
    moderator = Principal(1, "moderator-user", Role.MODERATOR)
    try:
        with factory() as db, db.begin():
            store_judged(db, [make_judged(comment=make_comment(text=text)) for text in MISSED])
        with factory() as db, db.begin():
            for comment_id in db.scalars(select(SeenComment.id)).all():
                raise_flag(db, comment_id, [Label.URGENT], "stroke signs", moderator, ROUTER)
        wrong = make_flag(comment=make_comment(text=test_text), labels=[Label.HOSTILE])
        with factory() as db, db.begin():
            store_flags(db, [wrong])
            db.add(LabelFeedback(flag_id=str(wrong.event_id), label="hostile", username="moderator-user",
                                 verdict="wrong", at=datetime.now(UTC)))  # fmt: skip
    finally:
        engine.dispose()


def test_feedback_export_feeds_training_and_leaves_the_test_split_alone(tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path / "corpus")
    test_file = corpus / "test.jsonl"
    test_text = json.loads(test_file.read_text(encoding="utf-8").splitlines()[0])["text"]
    test_hash = hashlib.sha256(test_file.read_bytes()).hexdigest()
    database_url = f"sqlite:///{tmp_path / 'triage.db'}"
    seed_desk(database_url, test_text)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TRIAGE_CLASSIFIER_DATA_DIR": str(tmp_path / "classifier")}  # fmt: skip

    exported = tmp_path / "feedback.jsonl"
    out = run("feedback", "export", "--database-url", database_url, "--output", str(exported), env=env)
    assert "3 feedback items" in out
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    items = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    by_text = {item["text"]: item for item in items}
    assert {t: by_text[t]["labels"] for t in MISSED} == {t: ["urgent"] for t in MISSED}
    assert by_text[MISSED[0]]["source"] == "person_flag"
    assert by_text[test_text]["labels"] == [] and by_text[test_text]["source"] == "label_feedback"

    common = ["train", "--corpus", str(corpus), "--frozen", "--seed", "13"]
    run(*common, "--output", str(tmp_path / "plain"), env=env)
    report = run(*common, "--output", str(tmp_path / "taught"), "--feedback", str(exported), env=env)

    plain = json.loads((tmp_path / "plain" / "artefact.json").read_text())
    taught = json.loads((tmp_path / "taught" / "artefact.json").read_text())
    with np.load(tmp_path / "plain" / "heads.npz") as a, np.load(tmp_path / "taught" / "heads.npz") as b:
        assert set(a.files) == set(b.files)
        assert any(not np.allclose(a[name], b[name]) for name in a.files)  # the heads changed
    feedback = taught["metrics"]["feedback"]
    assert (feedback["items"], feedback["dropped_held_out"]) == (2, 1)  # the test split's text never trains
    # The test split is the same file, the same items, and the run's "before" is the run without feedback.
    assert hashlib.sha256(test_file.read_bytes()).hexdigest() == test_hash
    assert (
        taught["metrics"]["test"]["items"]
        == plain["metrics"]["test"]["items"]
        == len(test_file.read_text().splitlines())
    )
    for label, m in plain["metrics"]["test"]["per_label"].items():
        assert feedback["test"][label]["f1_before"] == m["f1"], label
        assert feedback["test"][label]["f1_after"] == taught["metrics"]["test"]["per_label"][label]["f1"]
    assert feedback["feedback"]["urgent"]["support"] == 2
    assert feedback["feedback"]["urgent"]["recall_after"] >= feedback["feedback"]["urgent"]["recall_before"]
    assert "feedback: 2 items used for training, 1 dropped" in report
    assert "test F1" in report and "feedback recall" in report
    assert taught["data_sha256"] != plain["data_sha256"]  # the artefact names the data it learnt from

    # Recalibrated: half the feedback trains, half joins validation to choose the thresholds, recall first
    # for urgent, so the held-back emergency is caught at the threshold chosen (the small corpus's validation
    # has 20 urgent items: recall 0.97 misses none of them); the test split stays. Its threshold is
    # not comparable with the taught run's: those heads learnt from both emergencies, these from one.
    report = run(
        *common, "--output", str(tmp_path / "tuned"), "--feedback", str(exported), "--recalibrate", env=env
    )
    tuned = json.loads((tmp_path / "tuned" / "artefact.json").read_text())
    assert (tuned["metrics"]["feedback"]["items"], tuned["metrics"]["feedback"]["calibration_items"]) == (
        1,
        1,
    )
    assert tuned["metrics"]["feedback"]["feedback"]["urgent"]["recall_after"] == 1.0
    assert tuned["metrics"]["test"]["items"] == plain["metrics"]["test"]["items"]
    assert "1 used with validation to recalibrate the thresholds" in report
    shutil.rmtree(tmp_path / "classifier", ignore_errors=True)
