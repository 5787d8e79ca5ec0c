"""Statistics in float64 numpy: rank AUROC (vectorised over many score rows) and bootstrap CIs.

AUROC equals the Mann-Whitney U statistic divided by n_pos * n_neg; computing it from ranks (ties
averaged) lets one call score thousands of directions at once, which is what the nulls need.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def auroc_rows(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """AUROC of each row of `scores` [k, n] against binary `labels` [n], in one rank pass."""
    labels = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUROC needs both classes")
    ranks = rankdata(np.atleast_2d(np.asarray(scores, dtype=np.float64)), axis=1)
    u = ranks[:, labels].sum(axis=1) - n_pos * (n_pos + 1) / 2
    return np.asarray(u / (n_pos * n_neg))


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """AUROC of one score vector [n] against binary `labels` [n]."""
    if np.ndim(scores) != 1:
        raise ValueError("auroc() scores one vector; use auroc_rows() for a matrix")
    return float(auroc_rows(scores, labels)[0])


def stratified_resamples(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """[n, len(labels)] index matrix: each row resamples positives and negatives separately."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels).astype(bool)
    pos, neg = np.flatnonzero(labels), np.flatnonzero(~labels)
    rows = [np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)]) for _ in range(n)]
    return np.array(rows)


def bootstrap_auroc(scores: np.ndarray, labels: np.ndarray, n: int, seed: int,
                    level: float = 0.95) -> tuple[float, float]:
    """Percentile CI of the AUROC under stratified resampling of items."""
    idx = stratified_resamples(labels, n, seed)
    labels_b = np.asarray(labels).astype(bool)[idx[0]]  # identical in every row (stratified)
    values = auroc_rows(np.asarray(scores)[idx], labels_b)
    lo, hi = np.quantile(values, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def mean_ci(values: np.ndarray, n_boot: int, seed: int, min_n: int = 2) -> tuple[float, float]:
    """Bootstrap 95% CI of the mean over the finite values (NaN, NaN when fewer than `min_n`)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return bootstrap_mean(values, n_boot, seed) if values.size >= min_n else (float("nan"), float("nan"))


def bootstrap_mean(values: np.ndarray, n: int, seed: int, level: float = 0.95) -> tuple[float, float]:
    """Percentile CI of a mean over items."""
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(n, values.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)
