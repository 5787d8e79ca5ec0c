"""Null distributions: p-value formula, planted vs noise directions, cosine spread."""

from __future__ import annotations

import numpy as np
import pytest

from core.stats.estimates import auroc
from core.stats.nulls import (
    p_value,
    permutation_aurocs,
    random_cosine_quantile,
    random_direction_aurocs,
    random_directions,
    summarise,
)
from core.stats.probes import fit_probe


def test_probe_beyond_every_null_gets_the_floor():
    null = np.full(999, 0.6)
    assert p_value(0.99, null) == pytest.approx(1 / 1000)
    assert p_value(0.01, null) == pytest.approx(1 / 1000)  # two-sided: far below chance counts too


def test_p_value_counts_ties_and_more_extreme():
    null = np.array([0.5, 0.7, 0.8, 0.2, 0.9])
    assert p_value(0.8, null) == pytest.approx((1 + 3) / 6)  # 0.8 and 0.2 tie at distance .3, 0.9 exceeds


def test_summary_counts_extremes():
    stats = summarise(0.9, np.array([0.96, 0.04, 0.5, 0.6]))
    assert stats["n_extreme"] == 2 and stats["null_mean"] == pytest.approx(0.525)


def _planted(seed=0, n=120, d=64):
    direction = random_directions(1, d, 5)[0]
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2 == 0
    x = rng.normal(size=(n, d)) + np.outer(np.where(y, 2.0, -2.0), direction)
    return x, y, direction


def test_planted_direction_is_at_the_floor_and_noise_is_not():
    x, y, planted = _planted()
    null = random_direction_aurocs(x, y, 1000, seed=1)
    assert p_value(auroc(x @ planted, y), null) == pytest.approx(1 / 1001)
    noise = random_directions(1, x.shape[1], 77)[0]
    assert p_value(auroc(x @ noise, y), null) > 0.05


def test_random_directions_are_unit_and_seeded():
    a, b = random_directions(10, 8, 3), random_directions(10, 8, 3)
    assert np.allclose(np.linalg.norm(a, axis=1), 1) and np.array_equal(a, b)


def test_vectorised_permutation_refits_equal_explicit_refits():
    x, y, _ = _planted()
    xt, yt, _ = _planted(seed=1)
    fast = permutation_aurocs(x, y, xt, yt, 20, seed=4)
    rng = np.random.default_rng(4)
    slow = [auroc(fit_probe("mean_diff", x, rng.permutation(y)).score(xt), yt) for _ in range(20)]
    assert np.allclose(fast, slow, atol=1e-6)


def test_planted_probe_beats_permutation_null():
    x, y, _ = _planted()
    xt, yt, _ = _planted(seed=1)
    observed = auroc(fit_probe("mean_diff", x, y).score(xt), yt)
    assert p_value(observed, permutation_aurocs(x, y, xt, yt, 500, seed=2)) < 0.01


def test_cosine_with_itself_is_one_and_random_within_spread():
    d = 576
    v = random_directions(1, d, 0)[0]
    assert float(v @ v) == pytest.approx(1.0)
    q95 = random_cosine_quantile(d)
    assert q95 == pytest.approx(1.96 / np.sqrt(d), rel=0.1)
    others = random_directions(200, d, 9)
    assert (np.abs(others @ v) <= q95).mean() > 0.9
