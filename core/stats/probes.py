"""Linear probes: a probe is a unit direction; its score for an activation is the dot product.

- mean_diff: mean(positive) - mean(negative), normalised (positives project higher by construction).
- logistic: L2-regularised logistic regression on standardised features, mapped back to activation
  space (w / scale) and normalised; its sign follows the positive class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


@dataclass(frozen=True)
class Probe:
    method: str
    direction: np.ndarray  # unit vector, float32
    threshold: float  # midpoint of the train class means of the score

    def score(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64) @ self.direction.astype(np.float64)


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v)
    if norm == 0:
        raise ValueError("cannot normalise a zero direction")
    return v / norm


def mean_diff_direction(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    y = np.asarray(y).astype(bool)
    x = np.asarray(x, dtype=np.float64)
    return _unit(x[y].mean(axis=0) - x[~y].mean(axis=0))


def logistic_direction(x: np.ndarray, y: np.ndarray, c: float, seed: int) -> np.ndarray:
    scaler = StandardScaler().fit(x)
    clf = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    clf.fit(scaler.transform(x), np.asarray(y).astype(int))
    return _unit(clf.coef_[0] / scaler.scale_)


def fit_probe(method: str, x: np.ndarray, y: np.ndarray, c: float = 1.0, seed: int = 0) -> Probe:
    """Fit one probe on training activations [n, d] and binary labels [n]."""
    if method == "mean_diff":
        direction = mean_diff_direction(x, y)
    elif method == "logistic":
        direction = logistic_direction(x, y, c, seed)
    else:
        raise ValueError(f"unknown probe method '{method}'")
    y = np.asarray(y).astype(bool)
    s = np.asarray(x, dtype=np.float64) @ direction
    threshold = float((s[y].mean() + s[~y].mean()) / 2)
    return Probe(method, direction.astype(np.float32), threshold)
