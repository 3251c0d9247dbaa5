"""The profanity probability, scored with numpy alone from `artefacts/profanity.npz`.

The model is `alt-profanity-check`'s: TF-IDF over lower-cased words, then five linear SVMs, each with a sigmoid
calibration, whose probabilities are averaged. `training/profanity_export.py` takes its parameters out once, at
training time, and checks that this module gives the package's probabilities; so the services need neither the
package nor the scikit-learn and scipy it loads (about 90 MiB of memory in every worker).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

PROFANITY_FILE = Path(__file__).parent / "artefacts" / "profanity.npz"


@dataclass(frozen=True)
class ProfanityModel:
    token_pattern: str
    vocabulary: dict[str, int]  # word -> column
    idf: np.ndarray  # (words,)
    coef: np.ndarray  # (words, folds): each fold's SVM weights
    intercept: np.ndarray  # (folds,)
    slope: np.ndarray  # (folds,): each fold's sigmoid calibration, p = 1 / (1 + exp(slope * d + offset))
    offset: np.ndarray  # (folds,)

    @classmethod
    def load(cls, path: Path = PROFANITY_FILE) -> ProfanityModel:
        with np.load(path, allow_pickle=False) as stored:
            words = stored["vocabulary"].tolist()
            return cls(
                token_pattern=str(stored["token_pattern"]),
                vocabulary={word: column for column, word in enumerate(words)},
                idf=stored["idf"],
                coef=stored["coef"],
                intercept=stored["intercept"],
                slope=stored["slope"],
                offset=stored["offset"],
            )

    def predict_prob(self, texts: list[str]) -> np.ndarray:
        """The probability that each text is profane (float64, one per text)."""
        token = re.compile(self.token_pattern)
        rows: list[int] = []
        columns: list[int] = []
        counts: list[int] = []
        for row, text in enumerate(texts):
            found = Counter(
                column
                for word in token.findall(text.lower())
                if (column := self.vocabulary.get(word)) is not None
            )
            for column, count in sorted(found.items()):
                rows.append(row)
                columns.append(column)
                counts.append(count)
        row_index = np.asarray(rows, dtype=np.intp)
        column_index = np.asarray(columns, dtype=np.intp)
        values = np.asarray(counts, dtype=np.float64) * self.idf[column_index]  # TF-IDF, raw counts
        norms = np.sqrt(np.bincount(row_index, weights=values**2, minlength=len(texts)))
        norms[norms == 0.0] = 1.0  # a text with no known word stays all zeros, as scikit-learn leaves it
        values /= norms[row_index]
        decision = np.zeros((len(texts), self.coef.shape[1]), dtype=np.float64)
        np.add.at(decision, row_index, values[:, None] * self.coef[column_index])
        decision += self.intercept
        with np.errstate(over="ignore"):
            probs = 1.0 / (1.0 + np.exp(self.slope * decision + self.offset))
        return probs.mean(axis=1)  # type: ignore[no-any-return]


@cache
def bundled() -> ProfanityModel:
    return ProfanityModel.load()


def predict_prob(texts: list[str]) -> np.ndarray:
    """The bundled model's probability that each text is profane."""
    return bundled().predict_prob(texts) if texts else np.zeros(0, dtype=np.float64)
