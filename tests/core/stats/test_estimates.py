"""Rank AUROC equals sklearn's; bootstrap CIs bracket the estimate."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from core.stats.estimates import auroc, auroc_rows, bootstrap_auroc, bootstrap_mean


@pytest.mark.parametrize("seed", range(5))
def test_auroc_equals_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 60).astype(bool)
    s = rng.normal(size=60) + y * seed * 0.3
    assert auroc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_auroc_with_ties_equals_sklearn():
    y = np.array([1, 0, 1, 0, 1, 0, 0, 1], dtype=bool)
    s = np.array([1, 1, 2, 2, 3, 0, 3, 3], dtype=float)
    assert auroc(s, y) == pytest.approx(roc_auc_score(y, s))


def test_vectorised_rows_equal_one_at_a_time():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40).astype(bool)
    many = rng.normal(size=(25, 40))
    rows = auroc_rows(many, y)
    assert np.allclose(rows, [roc_auc_score(y, r) for r in many])


def test_auroc_needs_both_classes():
    with pytest.raises(ValueError):
        auroc(np.arange(4.0), np.ones(4, dtype=bool))


def test_bootstrap_ci_brackets_estimate():
    rng = np.random.default_rng(1)
    y = np.repeat([True, False], 50)
    s = rng.normal(size=100) + y
    lo, hi = bootstrap_auroc(s, y, 500, seed=3)
    assert lo < auroc(s, y) < hi
    assert (lo, hi) == bootstrap_auroc(s, y, 500, seed=3)  # seeded: reproducible
    mlo, mhi = bootstrap_mean(s, 500, seed=3)
    assert mlo < s.mean() < mhi
