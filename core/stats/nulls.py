"""Null distributions for a probe's AUROC, vectorised (one matmul + one rank pass per layer).

- Random directions: N seeded unit vectors (isotropic Gaussian, normalised) scored on the test split.
- Label permutation: the mean-difference probe refit on N shufflings of the TRAIN labels (a fitted
  direction must be compared with fitted nulls: fitting alone finds some separation in d >> n).
  For mean-difference the refit is linear in the labels, so all N refits are one matrix product.
- Within-pair permutation (below): labels swapped inside each empathy pair, the same swaps at every
  layer, so a max-over-layers statistic gives a family-wise p-value.
p-value (two-sided in AUROC distance from chance, with the +1 correction):
    p = (1 + #{|AUROC_null - 0.5| >= |AUROC_probe - 0.5|}) / (N + 1)
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from core.stats.estimates import auroc, auroc_rows
from core.stats.probes import fit_probe


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


# Within-pair label permutation (audit A5). Under H0 "the probe finds nothing beyond pair identity",
# which text of an empathy pair is the empathic one is exchangeable, so each permutation swaps the
# two labels of every pair with probability 1/2: class sizes and the pair structure stay fixed
# (a free shuffle across all train texts would also break the pairing, a weaker null). The SAME
# label matrix is reused at every layer, so the max over layers of |AUROC - .5| per permutation
# gives a family-wise (Westfall-Young single-step max-T) p-value for choosing the best layer.


def pair_swaps(labels: np.ndarray, pairs: np.ndarray, n: int, seed: int) -> np.ndarray:
    """[n, len(labels)] bool: each row swaps the labels of each pair (indices [m, 2]) with probability 1/2.

    Texts in no pair keep their label; pairs must be disjoint and hold one text of each class."""
    y = np.asarray(labels).astype(bool)
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    if np.any(y[pairs[:, 0]] == y[pairs[:, 1]]):
        raise ValueError("every pair needs one positive and one negative text")
    if len(np.unique(pairs)) != pairs.size:
        raise ValueError("pairs must be disjoint")
    flips = np.random.default_rng(seed).random((n, len(pairs))) < 0.5
    out = np.tile(y, (n, 1))
    out[:, pairs[:, 0]] = y[pairs[:, 0]] ^ flips
    out[:, pairs[:, 1]] = y[pairs[:, 1]] ^ flips
    return out


def mean_diff_refit_aurocs(x_train: np.ndarray, perms: np.ndarray, x_eval: np.ndarray,
                           y_eval: np.ndarray) -> np.ndarray:
    """AUROC on (x_eval, y_eval) of the mean-difference probe refit on each label row of `perms`.

    mean(pos) - mean(neg) is linear in the labels, so all refits are one matmul."""
    perms = np.asarray(perms, dtype=bool)
    weights = perms / perms.sum(1, keepdims=True) - ~perms / (~perms).sum(1, keepdims=True)
    directions = weights @ np.asarray(x_train, dtype=np.float64)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return auroc_rows(directions @ np.asarray(x_eval, dtype=np.float64).T, y_eval)


def logistic_refit_aurocs(x_train: np.ndarray, perms: np.ndarray, x_eval: np.ndarray, y_eval: np.ndarray,
                          c: float, seed: int) -> np.ndarray:
    """AUROC on (x_eval, y_eval) of the logistic probe (core.stats.probes) refit on each label row."""
    directions = np.array([fit_probe("logistic", x_train, row, c, seed).direction for row in perms])
    return auroc_rows(directions.astype(np.float64) @ np.asarray(x_eval, dtype=np.float64).T, y_eval)


def max_stat_p_values(observed: np.ndarray, null: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-layer and family-wise p-values from observed AUROCs [L] and null AUROCs [n, L].

    Statistic |AUROC - .5|; per layer p = (1 + #{null_l >= obs_l}) / (n + 1); family-wise
    p = (1 + #{max_l' null_l' >= obs_l}) / (n + 1), never below the per-layer p."""
    obs = np.abs(np.asarray(observed, dtype=np.float64) - 0.5) - 1e-12  # ties count as extreme
    stat = np.abs(np.asarray(null, dtype=np.float64) - 0.5)
    per_layer = (1 + (stat >= obs).sum(axis=0)) / (len(stat) + 1)
    family = (1 + (stat.max(axis=1, keepdims=True) >= obs).sum(axis=0)) / (len(stat) + 1)
    return per_layer, family


def pair_permutation_test(acts_train: np.ndarray, y_train: np.ndarray, pairs: np.ndarray, acts_eval: np.ndarray,
                          y_eval: np.ndarray, n: int, seed: int, method: str = "mean_diff",
                          c: float = 1.0) -> dict[str, np.ndarray]:
    """Within-pair permutation null of one probe method at every layer ([L, n_texts, d] activations).

    Returns observed [L], null [n, L], p_layer [L] and p_family [L] (max over layers)."""
    perms = pair_swaps(y_train, pairs, n, seed)  # generated once: the same swaps at every layer
    null = np.empty((n, acts_train.shape[0]))
    observed = np.empty(acts_train.shape[0])
    for layer in range(acts_train.shape[0]):
        x, xe = acts_train[layer], acts_eval[layer]
        if method == "mean_diff":
            null[:, layer] = mean_diff_refit_aurocs(x, perms, xe, y_eval)
        else:
            null[:, layer] = logistic_refit_aurocs(x, perms, xe, y_eval, c, seed)
        observed[layer] = auroc(fit_probe(method, x, y_train, c, seed).score(xe), y_eval)
    p_layer, p_family = max_stat_p_values(observed, null)
    return {"observed": observed, "null": null, "p_layer": p_layer, "p_family": p_family}


@lru_cache(maxsize=16)  # every test of one family has the same n: draw its patterns once (read-only)
def sign_patterns(n: int, n_flips: int, seed: Any) -> tuple[np.ndarray, bool]:
    """[m, n] signs: all 2^n sign vectors when that is at most n_flips (exact test), else n_flips random ones
    drawn with np.random.default_rng(seed) (any seed it accepts, e.g. an int or a tuple)."""
    if n < 31 and 2 ** n <= n_flips:
        codes = np.arange(2 ** n)[:, None] >> np.arange(n)[None, :]
        signs, exact = np.where(codes & 1, -1.0, 1.0), True
    else:
        signs, exact = np.random.default_rng(seed).choice([-1.0, 1.0], size=(n_flips, n)), False
    signs.setflags(write=False)  # shared through the cache
    return signs, exact


def sign_flip_p(effects: np.ndarray, n_flips: int, seed: Any, min_n: int = 2) -> np.ndarray:
    """Two-sided sign-flip p-value of the mean of each column of `effects` [n_units, k] (a 1-D input is one
    column): under H0 each unit's effect is symmetric about zero, so flipping whole units' signs leaves the
    mean's distribution unchanged. Exact when 2^n <= n_flips, else n_flips random flips, +1-corrected.

    NaN entries are left out of their column (its mean is over the finite ones); a column with fewer
    than `min_n` finite values gets NaN. The same flips are applied to every column."""
    x = np.atleast_2d(np.asarray(effects, dtype=np.float64).T).T
    finite = np.isfinite(x)
    count = finite.sum(axis=0)
    filled = np.where(finite, x, 0.0)
    signs, exact = sign_patterns(x.shape[0], n_flips, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.abs(filled.sum(axis=0) / count)
        null = np.abs(signs @ filled / count)
    extreme = (null >= observed * (1 - 1e-9)).sum(axis=0)  # ties count as extreme (float noise too)
    p = extreme / len(signs) if exact else (1 + extreme) / (len(signs) + 1)
    return np.where(count >= min_n, p, np.nan)
