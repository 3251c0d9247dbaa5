"""`triage classify`, `triage eval` and `triage train` as a user runs them: `python -m triage_cli` in a
child process, offline, with the bundled artefact (or, for `train`, a tiny corpus written here)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from triage_classifier.artefact import DEFAULT_DIR, Artefact
from triage_classifier.multilingual import MultilingualHeads
from triage_classifier.training.metrics import format_table
from triage_classifier.training.recheck import FLOAT_DECIDED, margin_for
from triage_events import Severity

from tests.integration import processes

pytestmark = pytest.mark.integration

LABEL_NAMES = ["urgent", "privacy", "misinformation", "clinical_advice", "hostile", "spam"]

# Fresh comments with gold labels (LABELS.md definitions); extra fields must survive `classify`.
GOLD: list[dict[str, Any]] = [
    {"text": "I swallowed a whole bottle of my sleeping pills and my heart is racing", "labels": ["urgent"]},
    {
        "text": "Ward 6 patient Lena Fischer, MRN 66120398, is refusing her dialysis again",
        "labels": ["privacy"],
    },
    {
        "text": "Sunlight through a window cures jaundice in adults, no need for any lab work",
        "labels": ["misinformation"],
    },
    {
        "text": "My toddler has had a rash and a 101 fever since last night, should I give him Motrin?",
        "labels": ["clinical_advice"],
    },
    {
        "text": "You absolute clowns lost my referral twice, the whole front desk is useless trash",
        "labels": ["hostile"],
    },
    {"text": "Win a $500 gift card, just enter your bank login at claimnow-prize.click", "labels": ["spam"]},
    {"text": "What are the lab hours at the Westgate clinic on holidays?", "labels": []},
    {"text": "Big thanks to the dietitian who helped my dad plan his meals.", "labels": []},
    {"text": "¿Dónde puedo vacunar a mi hija contra la gripe este sábado?", "labels": []},
    {
        "text": "Mi esposa se desmayó en el baño y no responde, ¿qué hago?",
        "labels": ["clinical_advice", "urgent"],
    },
    {"text": "My aunt's surgeon was fantastic, thank you all", "labels": []},
    {
        "text": "5G masts give people cancer and the hospital is hiding it, you are all liars",
        "labels": ["hostile", "misinformation"],
    },
]


def triage(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "triage_cli", *args],
        input=stdin,
        env=processes.service_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=180,
    )


def jsonl(objects: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)


def gold_with_extras() -> list[dict[str, Any]]:
    return [{"id": f"g{i}", "meta": {"source": "cli-test", "n": i}, **item} for i, item in enumerate(GOLD)]


@pytest.fixture(scope="module")
def version() -> str:
    """The version on every verdict: the artefact's, then the multilingual heads' (routed by default)."""
    return f"{Artefact.load().version}+{MultilingualHeads.load().version}"


@pytest.fixture(scope="module")
def classified() -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """`triage classify` on the gold items through stdin/stdout, run once for the module."""
    result = triage("classify", stdin=jsonl(gold_with_extras()))
    assert result.returncode == 0, result.stderr[-3000:]
    return result, [json.loads(line) for line in result.stdout.splitlines()]


def test_classify_annotates_every_stdin_line_and_keeps_other_fields(
    classified: tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]], version: str
) -> None:
    result, out = classified

    assert [o["id"] for o in out] == [f"g{i}" for i in range(len(GOLD))]
    assert [o["text"] for o in out] == [g["text"] for g in GOLD]
    assert [o["meta"] for o in out] == [{"source": "cli-test", "n": i} for i in range(len(GOLD))]
    for o in out:
        assert set(o) == {"id", "meta", "text", "labels", "scores", "severity", "evidence", "model_version"}
        assert o["model_version"] == version
        assert sorted(o["scores"]) == sorted(LABEL_NAMES)
        assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in o["scores"].values())
        assert set(o["labels"]) <= set(LABEL_NAMES)
        if o["labels"]:
            assert o["severity"] in {s.value for s in Severity}
            model_evidence = {e["label"] for e in o["evidence"] if e["source"] == "model"}
            assert model_evidence == set(o["labels"]), o
            for e in (e for e in o["evidence"] if e["source"] == "rule"):
                assert 0 <= e["start"] < e["end"] <= len(o["text"])
        else:
            assert o["severity"] is None and o["evidence"] == []
    assert f"classified {len(GOLD)} comments" in result.stderr
    # Plain cases the model must get: the overdose pages, the benign question does not.
    assert "urgent" in out[0]["labels"] and out[0]["severity"] == "critical"
    assert out[6]["labels"] == []


def test_classify_reads_and_writes_files(tmp_path: Path, version: str) -> None:
    source, sink = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    items = [
        {"text": "Someone is having a seizure on the floor of the pharmacy right now", "ref": 1},
        {"text": "¿El estacionamiento de visitantes es gratis los domingos?", "ref": 2},
    ]
    source.write_text(jsonl(items[:1]) + "\n   \n" + jsonl(items[1:]), encoding="utf-8")

    result = triage("classify", "--input", str(source), "--output", str(sink))

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == ""
    written = sink.read_text(encoding="utf-8")
    assert "¿El estacionamiento" in written  # not \u-escaped
    out = [json.loads(line) for line in written.splitlines()]
    assert [o["ref"] for o in out] == [1, 2]
    assert "urgent" in out[0]["labels"]
    assert out[1]["labels"] == []
    assert {o["model_version"] for o in out} == {version}
    assert "classified 2 comments" in result.stderr


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"text": "Is the lab open today?", ', "line 2: not JSON"),
        ('{"body": "Is the lab open today?"}', "line 2: expected an object with a string 'text'"),
        ('["Is the lab open today?"]', "line 2: expected an object with a string 'text'"),
    ],
)
def test_classify_stops_with_a_clear_error_on_a_bad_line(bad_line: str, message: str) -> None:
    # The input check is the same in both modes; the rules mode keeps this test fast.
    stdin = jsonl([{"text": "Thanks for the flu clinic!"}]) + bad_line + "\n" + jsonl([{"text": "See you"}])

    result = triage("classify", "--mode", "rules", stdin=stdin)

    assert result.returncode != 0
    assert f"Error: {message}" in result.stderr
    assert "Traceback" not in result.stderr


def test_eval_json_matches_a_count_of_the_classify_predictions(
    classified: tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]], tmp_path: Path, version: str
) -> None:
    _, out = classified
    gold_path = tmp_path / "gold.jsonl"
    gold_path.write_text(jsonl(gold_with_extras()), encoding="utf-8")

    result = triage("eval", str(gold_path), "--json")

    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["model_version"] == version
    assert report["items"] == len(GOLD)
    assert sorted(report["per_label"]) == sorted(LABEL_NAMES)
    f1s = []
    for label in LABEL_NAMES:
        gold = [label in g["labels"] for g in GOLD]
        pred = [label in o["labels"] for o in out]
        tp = sum(g and p for g, p in zip(gold, pred, strict=True))
        fp = sum(p and not g for g, p in zip(gold, pred, strict=True))
        fn = sum(g and not p for g, p in zip(gold, pred, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        m = report["per_label"][label]
        assert (m["tp"], m["fp"], m["fn"], m["support"]) == (tp, fp, fn, tp + fn), label
        assert m["precision"] == pytest.approx(precision, abs=1e-4), label
        assert m["recall"] == pytest.approx(recall, abs=1e-4), label
        assert m["f1"] == pytest.approx(f1, abs=1e-4), label
        f1s.append(f1)
    assert report["macro_f1"] == pytest.approx(sum(f1s) / len(f1s), abs=2e-4)
    benign = [o for g, o in zip(GOLD, out, strict=True) if not g["labels"]]
    assert report["benign_items"] == len(benign) == 4
    assert report["benign_flagged"] == pytest.approx(
        sum(bool(o["labels"]) for o in benign) / len(benign), abs=1e-4
    )


def test_eval_refuses_an_unknown_label(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text(
        jsonl(
            [
                {"text": "Where is radiology?", "labels": []},
                {"text": "You people are rude", "labels": ["rude"]},
            ]
        )
    )

    result = triage("eval", str(path), "--json", "--mode", "rules")

    assert result.returncode != 0
    assert "Error: item 2: 'labels' must be a list drawn from" in result.stderr
    assert "hostile" in result.stderr
    assert result.stdout == ""


# --- triage train -----------------------------------------------------------------------------------------

# Nine fresh comments per category; item i goes to train, validation or test by i % 3, so each split has
# three of each label and three benign ones (21 items a split).
TINY_CORPUS: dict[str, list[str]] = {
    "urgent": [
        "My brother just collapsed in the lobby and he is not breathing",
        "I took every pill in the bottle an hour ago and I feel numb",
        "Thick smoke is pouring out of the third floor wing right now",
        "My mom is having a stroke in the parking garage, her face is drooping",
        "Someone call 911, a man is bleeding heavily by the north entrance",
        "I am on the roof of the clinic and I am going to jump tonight",
        "Mi abuelo no respira, estamos en la sala de espera",
        "My baby is turning blue and won't wake up",
        "A car just crashed into the bus stop outside the ER and people are trapped",
    ],
    "privacy": [
        "Visiting Janet Moore in room 512 after her hip surgery",
        "My MRN is 88301245 and my chart lists the wrong blood type",
        "Policy number QX7741029 was billed twice for my biopsy",
        "Carl Benson in bed 9 has stage four cancer, please pray",
        "DOB 4/12/1979 here and I was diagnosed with hepatitis last week",
        "My cell is 555-310-4477 if anyone has news about my chemo schedule",
        "Expediente 5520187, me operaron de la rodilla la semana pasada",
        "Omar Reyes in room 204 has a broken leg, go say hi",
        "Insurance ID HB5520931, they denied my dialysis claim again",
    ],
    "misinformation": [
        "Raw garlic cures strep throat, antibiotics are a scam",
        "Vaccines shed and make the people around you sick",
        "Fluoride is rat poison they put in the water to sedate us",
        "Essential oils shrink tumors faster than chemo ever could",
        "El limón con bicarbonato elimina el cáncer en semanas",
        "Sunscreen causes skin cancer, throw yours away",
        "A juice cleanse flushes out diabetes for good, drop the insulin",
        "Masks starve your brain of oxygen, never wear one",
        "Ivermectin cures every virus and the hospital hides it",
    ],
    "clinical_advice": [
        "My son has a 102 fever and a stiff knee, should I give him ibuprofen?",
        "I'm on lisinopril and feel dizzy every morning, should I stop taking it?",
        "My potassium came back 5.9, do I need to skip my spironolactone?",
        "Can my 80 year old dad take melatonin with his warfarin?",
        "Mi hija tiene tos hace una semana, ¿le doy jarabe o antibiótico?",
        "I'm 8 weeks pregnant, is it safe for me to keep taking my sertraline?",
        "My A1c is 8.1, should I ask to double my metformin?",
        "My wife's thyroid result was low, should she change her levothyroxine dose?",
        "My baby spit up after her vaccine, can I give her Tylenol tonight?",
    ],
    "hostile": [
        "You are all useless idiots at that front desk",
        "Shut up @tomcat77, nobody wants your stupid opinion",
        "The billing staff are lying crooks and morons",
        "Your surgeon is a butcher and a fraud",
        "Eres un inútil y un mentiroso, doctor",
        "Go die @karen_lee, you pathetic troll",
        "That nurse is a lazy pig and should be fired",
        "You people are scum, every last one of you",
        "The CEO is a clueless clown who should be ashamed",
    ],
    "spam": [
        "Earn $900 a day trading crypto, DM me now",
        "Free iPad giveaway, click bit.ly/free-pad-now",
        "Follow me for follow back, like for like 🔥",
        "Recover your hacked account fast, message my support team",
        "Gana dinero desde casa con forex, escríbeme",
        "Cheap designer watches at luxwatch-sale.biz",
        "Hot singles near you, visit my profile",
        "Investment tips that doubled my money, link in bio",
        "Claim your prize now at winbig-today.top",
    ],
    "benign": [
        "What time does the pharmacy close on Sundays?",
        "Thank you to the nurses on the fourth floor",
        "Is visitor parking free after six?",
        "¿A qué hora abre el laboratorio?",
        "Great job on the new children's wing",
        "How do I request my vaccination record online?",
        "The blood drive is next Tuesday in the main lobby",
        "Proud of our respiratory therapists this week",
        "Where can I get a flu shot near Oak Street?",
    ],
}


def write_tiny_corpus(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    splits: dict[str, list[dict[str, Any]]] = {"train": [], "validation": [], "test": []}
    names = list(splits)
    for category, texts in TINY_CORPUS.items():
        labels = [] if category == "benign" else [category]
        for i, text in enumerate(texts):
            splits[names[i % 3]].append({"text": text, "labels": labels, "lang": "en"})
    for name, items in splits.items():
        (directory / f"{name}.jsonl").write_text(jsonl(items), encoding="utf-8")


def test_train_frozen_writes_an_artefact_and_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_tiny_corpus(corpus)
    bundled = (DEFAULT_DIR / "artefact.json").read_bytes()

    outputs = [tmp_path / "first", tmp_path / "second"]
    # The two runs go side by side: same seed, same corpus, separate processes.
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "triage_cli",
                "train",
                "--frozen",
                "--seed",
                "7",
                "--corpus",
                str(corpus),
                "--output",
                str(output),
            ],
            env=processes.service_env(),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for output in outputs
    ]
    runs = []
    try:
        for child, output in zip(children, outputs, strict=True):
            stdout, stderr = child.communicate(timeout=180)
            assert child.returncode == 0, stderr[-3000:]
            assert f"written to {output}" in stdout
            assert (output / "artefact.json").exists() and (output / "heads.npz").exists()
            assert not (output / "encoder_delta.npz").exists()
            runs.append(Artefact.load(output))
            # training shows the split that chose the heads; the test split is for `triage eval`
            assert "validation split (chose" in stdout
            summary = format_table(runs[-1].metrics["validation"]).splitlines()[
                -1
            ]  # macro-F1, benign flagged
            assert summary in stdout
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()

    first, second = runs
    heads = [(output / "multilingual" / "heads.json").read_bytes() for output in outputs]
    assert heads[0] == heads[1]  # the multilingual heads too, byte for byte
    assert first.weights is not None and second.weights is not None
    assert np.array_equal(first.weights, second.weights)
    assert np.array_equal(first.bias, second.bias)
    assert first.thresholds == second.thresholds
    assert first.rule_override == second.rule_override
    assert first.metrics == second.metrics

    data_hash = hashlib.sha256((corpus / "train.jsonl").read_bytes()).hexdigest()
    assert first.data_sha256 == data_hash
    assert first.version.startswith("minilm-l6-heads-") and first.version.endswith(data_hash[:8])
    assert first.seed == 7
    assert first.encoder["fine_tuned"] is False and first.delta == {}
    assert first.labels == LABEL_NAMES
    assert first.metrics["train_items"] == 21
    assert first.metrics["test"]["items"] == 21
    recheck = first.metrics[
        "int8_recheck"
    ]  # measured on the 42 comments the heads were fitted and calibrated on
    assert recheck["comments"] == 42
    assert first.recheck_margin == recheck["margins"]
    assert set(recheck["margins"]) == set(LABEL_NAMES)
    # urgent, privacy and hostile keep the float decisions; int8 decides the others (training.recheck)
    for name in LABEL_NAMES:
        expected = margin_for(recheck["widest_crossing"][name]) if name in FLOAT_DECIDED else 0.0
        assert recheck["margins"][name] == expected, name
    assert set(first.metrics["test"]["per_label"]) == set(LABEL_NAMES)
    assert (DEFAULT_DIR / "artefact.json").read_bytes() == bundled  # the bundled artefact is untouched
