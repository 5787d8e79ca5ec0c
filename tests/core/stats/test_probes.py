"""Probe oracles: closed-form mean difference, planted-direction recovery, sign convention."""

from __future__ import annotations

import numpy as np
import pytest

from core.stats.estimates import auroc
from core.stats.probes import fit_probe


def _planted(n=200, d=32, seed=0, strength=3.0):
    """Gaussian noise plus +-strength/2 along one fixed planted unit direction."""
    direction = np.random.default_rng(99).normal(size=d)
    direction /= np.linalg.norm(direction)
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2 == 0
    x = rng.normal(size=(n, d)) + np.outer(np.where(y, strength, -strength) / 2, direction)
    return x, y, direction


def test_mean_diff_equals_closed_form():
    x, y, _ = _planted()
    expected = x[y].mean(0) - x[~y].mean(0)
    probe = fit_probe("mean_diff", x, y)
    assert np.allclose(probe.direction, expected / np.linalg.norm(expected), atol=1e-6)


@pytest.mark.parametrize("method", ["mean_diff", "logistic"])
def test_planted_direction_is_recovered(method):
    x, y, true_dir = _planted()
    x_test, y_test, _ = _planted(seed=1)  # a fresh draw around the same direction
    probe = fit_probe(method, x, y)
    assert float(probe.direction @ true_dir) > 0.8
    assert auroc(probe.score(x_test), y_test) > 0.97
    assert np.linalg.norm(probe.direction) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("method", ["mean_diff", "logistic"])
def test_positives_project_higher(method):
    x, y, _ = _planted()
    probe = fit_probe(method, x, y)
    s = probe.score(x)
    assert s[y].mean() > probe.threshold > s[~y].mean()


def test_pure_noise_gives_chance_auroc_on_fresh_data():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(300, 16)), np.arange(300) % 2 == 0
    probe = fit_probe("mean_diff", x[:150], y[:150])
    assert abs(auroc(probe.score(x[150:]), y[150:]) - 0.5) < 0.15
