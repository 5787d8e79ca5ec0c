"""Null distributions for a probe's AUROC, vectorised (one matmul + one rank pass per layer).

- Random directions: N seeded unit vectors (isotropic Gaussian, normalised) scored on the test split.
- Label permutation: the mean-difference probe refit on N shufflings of the TRAIN labels (a fitted
  direction must be compared with fitted nulls: fitting alone finds some separation in d >> n).
  For mean-difference the refit is linear in the labels, so all N refits are one matrix product.
p-value (two-sided in AUROC distance from chance, with the +1 correction):
    p = (1 + #{|AUROC_null - 0.5| >= |AUROC_probe - 0.5|}) / (N + 1)
"""

from __future__ import annotations

import numpy as np

from core.stats.estimates import auroc_rows


def _unit_rows(rng: np.random.Generator, k: int, d: int) -> np.ndarray:
    r = rng.normal(size=(k, d))
    return r / np.linalg.norm(r, axis=1, keepdims=True)


def random_directions(n: int, d: int, seed: int) -> np.ndarray:
    """[n, d] unit vectors, uniform on the sphere."""
    return _unit_rows(np.random.default_rng(seed), n, d)


def random_direction_aurocs(x_test: np.ndarray, y_test: np.ndarray, n: int, seed: int) -> np.ndarray:
    """AUROC of each of n random directions on (x_test, y_test)."""
    directions = random_directions(n, x_test.shape[1], seed)
    return auroc_rows(directions @ np.asarray(x_test, dtype=np.float64).T, y_test)


def permutation_aurocs(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                       n: int, seed: int) -> np.ndarray:
    """AUROC on the test split of mean-difference probes refit on n label shufflings."""
    rng = np.random.default_rng(seed)
    y = np.asarray(y_train).astype(bool)
    perms = np.array([rng.permutation(y) for _ in range(n)])  # class sizes stay fixed
    weights = perms / perms.sum(1, keepdims=True) - ~perms / (~perms).sum(1, keepdims=True)
    directions = weights @ np.asarray(x_train, dtype=np.float64)  # rows: mean(pos) - mean(neg)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return auroc_rows(directions @ np.asarray(x_test, dtype=np.float64).T, y_test)


def p_value(observed: float, null: np.ndarray) -> float:
    """(1 + #{|null - .5| >= |observed - .5|}) / (N + 1)."""
    extreme = np.abs(np.asarray(null) - 0.5) >= abs(observed - 0.5) - 1e-12
    return float((1 + extreme.sum()) / (len(null) + 1))


def summarise(observed: float, null: np.ndarray) -> dict[str, float]:
    """p-value and the shape of a null distribution."""
    return {"auroc_probe": observed, "p_value": p_value(observed, null),
            "n_extreme": int(((null > 0.95) | (null < 0.05)).sum()), "null_mean": float(null.mean()),
            "null_std": float(null.std()), "null_q95": float(np.quantile(null, 0.95))}


def random_cosine_quantile(d: int, q: float = 0.95, n: int = 20000, seed: int = 0, chunk: int = 1000) -> float:
    """The q-quantile of |cos| between two random directions in d dims (~1.96/sqrt(d) for q=.95).

    The pairs are drawn `chunk` rows at a time (the generators' streams, hence the value, are the same
    as drawing all n at once) so that large d (4096-8192 for hub models) does not need GBs."""
    ga, gb = np.random.default_rng(seed), np.random.default_rng(seed + 1)
    cos = [np.abs((_unit_rows(ga, k, d) * _unit_rows(gb, k, d)).sum(1))
           for k in (min(chunk, n - start) for start in range(0, n, chunk))]
    return float(np.quantile(np.concatenate(cos), q))
