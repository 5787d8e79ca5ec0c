"""Procrustes recovers a known rotation; a direction carried through it keeps its AUROC."""

from __future__ import annotations

import numpy as np
from scipy.stats import ortho_group

from analyses.probes.transfer import map_direction, procrustes
from core.stats.estimates import auroc


def test_procrustes_recovers_a_known_rotation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 16))
    rotation = ortho_group.rvs(16, random_state=1)
    w = procrustes(x, x @ rotation)
    assert np.allclose(w, rotation, atol=1e-8)


def test_mapped_direction_transfers():
    rng = np.random.default_rng(2)
    y = np.arange(300) % 2 == 0
    direction = np.eye(16)[0]
    x = rng.normal(size=(300, 16)) + np.outer(np.where(y, 2.0, -2.0), direction)
    rotation = ortho_group.rvs(16, random_state=3)
    target = x @ rotation
    mapped = map_direction(procrustes(x[:200], target[:200]), direction)
    assert np.allclose(mapped, direction @ rotation, atol=1e-6)
    assert auroc(target[200:] @ mapped, y[200:]) == auroc(x[200:] @ direction, y[200:])


def test_semi_orthogonal_map_between_different_widths():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(100, 8))
    w = procrustes(x, rng.normal(size=(100, 12)))
    assert w.shape == (8, 12) and np.allclose(w @ w.T, np.eye(8), atol=1e-8)
