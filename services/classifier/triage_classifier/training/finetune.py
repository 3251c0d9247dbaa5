"""Fine-tune the MiniLM encoder with LoRA adapters and a multi-label head, on a GPU when there is one.

The result is stored compactly: the low-rank factors of each adapted weight (W += B @ A), about 1 MB in
fp16, applied to the packaged base weights at load time. So the committed artefact stays small and
inference needs neither peft nor a GPU.

This module imports only torch, transformers, peft and numpy, so it can run on a training machine that
has none of the service dependencies. Rule/profanity features are computed beforehand
(`python -m triage_classifier.training.export_features`) and passed in as an .npz file.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

LABELS = ("urgent", "privacy", "misinformation", "clinical_advice", "hostile", "spam")
TARGET_MODULES = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]


def read_split(corpus: Path, split: str) -> tuple[list[str], np.ndarray]:
    return read_jsonl(corpus / f"{split}.jsonl")


def read_jsonl(path: Path) -> tuple[list[str], np.ndarray]:
    texts, gold = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            texts.append(obj["text"])
            gold.append([int(label in obj["labels"]) for label in LABELS])
    return texts, np.array(gold, dtype=np.float32)


class Model(torch.nn.Module):
    def __init__(self, encoder: torch.nn.Module, n_features: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(384 + n_features, len(LABELS))
        self.dropout = torch.nn.Dropout(0.1)

    def forward(self, batch: dict[str, torch.Tensor], features: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return self.head(self.dropout(torch.cat([pooled, features], dim=1)))


HEAD_LR = 2e-3


def optimiser(
    model: Model, lr: float, steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW over the trainable adapters (at `lr`) and the head (at `HEAD_LR`), on a one-cycle schedule."""
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for p in model.encoder.parameters() if p.requires_grad], "lr": lr},
            {"params": model.head.parameters(), "lr": HEAD_LR},
        ],
        weight_decay=0.01,
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[lr, HEAD_LR], total_steps=steps, pct_start=0.1
    )
    return optimizer, scheduler


def take_step(
    optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler, loss: torch.Tensor
) -> None:
    """One optimisation step on `loss`, and the schedule's step after it."""
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()


def best_f1(gold: np.ndarray, probs: np.ndarray) -> float:
    scores = []
    for j in range(gold.shape[1]):
        best = 0.0
        for t in np.arange(0.05, 0.96, 0.05):
            pred = probs[:, j] >= t
            tp = float(np.sum(pred & (gold[:, j] > 0)))
            fp = float(np.sum(pred & (gold[:, j] == 0)))
            fn = float(np.sum(~pred & (gold[:, j] > 0)))
            best = max(best, 2 * tp / max(1.0, 2 * tp + fp + fn))
        scores.append(best)
    return float(np.mean(scores))


def run(
    model_dir: Path,
    corpus: Path,
    features: Path,
    rank: int,
    epochs: int,
    lr: float,
    seed: int,
    extra: Path | None = None,
    extra_weight: float = 0.5,
    batch_size: int = 32,
) -> tuple[float, dict[str, np.ndarray], dict[str, float]]:
    from peft import LoraConfig, get_peft_model

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    base = AutoModel.from_pretrained(str(model_dir), local_files_only=True, torch_dtype=torch.float32)
    encoder = get_peft_model(
        base, LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.1, target_modules=TARGET_MODULES)
    )
    stored = np.load(features)
    train_texts, train_gold = read_split(corpus, "train")
    val_texts, val_gold = read_split(corpus, "validation")
    train_x, val_x = stored["train"], stored["validation"]
    weights = np.ones(len(train_texts), dtype=np.float32)
    if extra is not None:
        extra_texts, extra_gold = read_jsonl(extra)
        train_texts += extra_texts
        train_gold = np.vstack([train_gold, extra_gold])
        train_x = np.vstack([train_x, stored["extra"]])
        weights = np.concatenate([weights, np.full(len(extra_texts), extra_weight, dtype=np.float32)])
    model = Model(encoder, train_x.shape[1]).to(device)
    positives = train_gold.sum(0)
    pos_weight = torch.tensor(
        np.clip((len(train_gold) - positives) / np.maximum(positives, 1), 1, 8), device=device
    )
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")
    steps = epochs * ((len(train_texts) + batch_size - 1) // batch_size)
    optimizer, scheduler = optimiser(model, lr, steps)

    def tokens(texts: list[str]) -> dict[str, torch.Tensor]:
        batch = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        return {k: v.to(device) for k, v in batch.items()}

    def predict(texts: list[str], x: np.ndarray) -> np.ndarray:
        model.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(texts), 128):
                logits = model(tokens(texts[i : i + 128]), torch.tensor(x[i : i + 128], device=device))
                out.append(torch.sigmoid(logits).cpu().numpy())
        return np.vstack(out)

    history: dict[str, float] = {}
    best_score, best_delta = -1.0, {}
    for epoch in range(epochs):
        model.train()
        order = np.random.permutation(len(train_texts))
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            logits = model(tokens([train_texts[k] for k in idx]), torch.tensor(train_x[idx], device=device))
            per_item = loss_fn(logits, torch.tensor(train_gold[idx], device=device)).mean(dim=1)
            loss = (per_item * torch.tensor(weights[idx], device=device)).mean()
            take_step(optimizer, scheduler, loss)
        score = best_f1(val_gold, predict(val_texts, val_x))
        history[f"epoch_{epoch + 1}"] = round(score, 4)
        if score > best_score:
            best_score, best_delta = score, extract_delta(model.encoder)
    return best_score, best_delta, history


def extract_delta(encoder: torch.nn.Module) -> dict[str, np.ndarray]:
    """LoRA factors per adapted weight, keyed by the base model's parameter name, B pre-scaled."""
    delta: dict[str, np.ndarray] = {}
    for name, module in encoder.named_modules():
        if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}):
            base_name = name.replace("base_model.model.", "", 1)
            a = module.lora_A["default"].weight.detach().float().cpu().numpy()
            b = module.lora_B["default"].weight.detach().float().cpu().numpy() * module.scaling["default"]
            delta[f"{base_name}.lora_a"] = a.astype(np.float16)
            delta[f"{base_name}.lora_b"] = b.astype(np.float16)
    return delta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument(
        "--configs", default="16:8:3e-4", help="rank:epochs:lr, comma-separated; best on validation wins"
    )
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--extra", type=Path, default=None, help="extra training JSONL (features key 'extra')"
    )
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, object]] = []
    best_score, best_delta, chosen = -1.0, {}, ""
    for config in args.configs.split(","):
        rank, epochs, lr = config.split(":")
        started = time.time()
        score, delta, history = run(
            args.model_dir,
            args.corpus,
            args.features,
            int(rank),
            int(epochs),
            float(lr),
            args.seed,
            args.extra,
        )
        runs.append(
            {
                "config": config,
                "validation_macro_f1_best_threshold": round(score, 4),
                "history": history,
                "seconds": round(time.time() - started, 1),
            }
        )
        print(json.dumps(runs[-1]), flush=True)
        if score > best_score:
            best_score, best_delta, chosen = score, delta, config
    report = {"device": "cuda" if torch.cuda.is_available() else "cpu", "runs": runs, "chosen": chosen}
    np.savez_compressed(args.output / "encoder_delta.npz", **best_delta)  # type: ignore[arg-type]
    (args.output / "finetune.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
