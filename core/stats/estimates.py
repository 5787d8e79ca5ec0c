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


# Instance-clustered bootstrap. Each scenario instance contributes up to four texts that share a
# situation (its 2x2 cells), so texts are not independent draws: resampling texts one by one
# understates the spread (audit A3). Here whole instances are drawn with replacement; a resample
# is a row of per-text weights (how often the text's instance was drawn), and the AUROC of a
# weighted sample is computed from the sorted scores, so nothing is materialised per resample.


def cluster_weights(clusters: np.ndarray, n: int, seed: int) -> np.ndarray:
    """[n, len(clusters)] weights: row b counts how often each text's cluster was drawn in resample b.

    Drawing k clusters with replacement from k is one multinomial(k, 1/k) per resample."""
    _, inverse = np.unique(np.asarray(clusters), return_inverse=True)
    k = int(inverse.max()) + 1
    counts = np.random.default_rng(seed).multinomial(k, np.full(k, 1.0 / k), size=n)
    return counts[:, inverse].astype(np.float64)


def weighted_auroc_rows(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUROC of one score vector [n] under each row of `weights` [b, n] (ties count half).

    Equals auroc() of the sample that repeats text i weights[b, i] times; NaN where a row gives one
    class no weight."""
    labels = np.asarray(labels).astype(bool)
    _, group = np.unique(np.asarray(scores, dtype=np.float64), return_inverse=True)
    onehot = np.zeros((len(group), int(group.max()) + 1))
    onehot[np.arange(len(group)), group] = 1.0
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    neg_at = (w * ~labels) @ onehot  # [b, unique scores]: negative weight at each score value
    below = np.cumsum(neg_at, axis=1) - neg_at  # negative weight strictly below each value
    credit = below + 0.5 * neg_at
    pos_w = w * labels
    wins = (pos_w * credit[:, group]).sum(axis=1)
    total = pos_w.sum(axis=1) * neg_at.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, wins / total, np.nan)


def _percentile_ci(values: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = np.nanquantile(values, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def cluster_bootstrap_auroc(scores: np.ndarray, labels: np.ndarray, clusters: np.ndarray, n: int, seed: int,
                            level: float = 0.95) -> tuple[float, float]:
    """Percentile CI of the AUROC, resampling whole clusters (instances) with replacement."""
    return _percentile_ci(weighted_auroc_rows(scores, labels, cluster_weights(clusters, n, seed)), level)


def paired_cluster_bootstrap_auroc_diff(scores_a: np.ndarray, scores_b: np.ndarray, labels: np.ndarray,
                                        clusters: np.ndarray, n: int, seed: int,
                                        level: float = 0.95) -> tuple[float, float, float]:
    """AUROC(a) - AUROC(b) and its percentile CI, both scored on the SAME cluster resamples.

    Pairing keeps what the two scores share (the same hard instances) out of the difference's spread."""
    weights = cluster_weights(clusters, n, seed)
    diffs = weighted_auroc_rows(scores_a, labels, weights) - weighted_auroc_rows(scores_b, labels, weights)
    point = auroc(np.asarray(scores_a), labels) - auroc(np.asarray(scores_b), labels)
    return (float(point), *_percentile_ci(diffs, level))
