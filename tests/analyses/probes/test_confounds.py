"""The length control on synthetic scores with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analyses.probes.confounds import pair_wins, residualize
from core.stats.estimates import auroc


def test_residualize_removes_an_exact_line():
    length = np.array([60.0, 80, 100, 120])
    score = 1.0 + 2.0 * length
    assert np.ptp(residualize(score, length, score, length)) == pytest.approx(0, abs=1e-9)  # only the intercept


def _longer_empathic(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2 == 0
    length = rng.normal(100, 15, n) + 12 * y  # empathic texts run longer
    return y, length, rng.normal(0, 1, n)


def test_a_length_detector_loses_its_auroc_after_residualizing():
    y, length, noise = _longer_empathic()
    score = length + noise
    assert auroc(score, y) > 0.65
    assert abs(auroc(residualize(score, length, score, length), y) - 0.5) < 0.05


def test_a_probe_of_the_class_keeps_its_auroc_after_residualizing():
    y, length, noise = _longer_empathic()
    score = 4.0 * y + 0.05 * length + noise
    assert auroc(residualize(score, length, score, length), y) > 0.9


def test_within_class_slope_recovers_the_true_length_effect():
    y, length, noise = _longer_empathic()
    score = 2.0 * y + 0.05 * length + 0.1 * noise
    adjusted = residualize(score, length, score, length, y)
    # what is left is the class effect plus noise: the 0.05 slope is gone, the class gap of 2 is not
    assert np.corrcoef(adjusted[y], length[y])[0, 1] == pytest.approx(0, abs=0.15)
    assert adjusted[y].mean() - adjusted[~y].mean() == pytest.approx(2.0, abs=0.1)
    # the pooled slope also absorbs the class gap that length carries, so it removes more
    pooled = residualize(score, length, score, length)
    assert pooled[y].mean() - pooled[~y].mean() < adjusted[y].mean() - adjusted[~y].mean()


def test_pair_wins_counts_ties_half_and_only_kept_pairs():
    pos, neg = np.array([2.0, 1.0, 0.0, 5.0]), np.array([1.0, 1.0, 3.0, 9.0])
    assert pair_wins(pos, neg, [True] * 4) == (pytest.approx(1.5 / 4), 4)
    assert pair_wins(pos, neg, [True, True, False, False]) == (pytest.approx(0.75), 2)
    wins, n = pair_wins(pos, neg, [False] * 4)
    assert math.isnan(wins) and n == 0

