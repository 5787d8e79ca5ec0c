"""Procrustes recovers a known rotation; a direction carried through it keeps its AUROC; matched depth."""

from __future__ import annotations

import numpy as np
from scipy.stats import ortho_group

from core.stats.estimates import auroc
from core.stats.procrustes import map_direction, matched_layer, procrustes


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


def test_semi_orthogonal_map_from_the_wider_space_preserves_the_fitted_direction():
    # 12 -> 8: a planted signal on a direction that the map keeps survives the narrowing
    rng = np.random.default_rng(5)
    y = np.arange(300) % 2 == 0
    embed = ortho_group.rvs(12, random_state=6)[:, :8]  # 8-d target embedded isometrically in 12-d
    low = rng.normal(size=(300, 8)) + np.outer(np.where(y, 2.0, -2.0), np.eye(8)[0])
    high = low @ embed.T
    w = procrustes(high[:200], low[:200])
    assert w.shape == (12, 8) and np.allclose(w.T @ w, np.eye(8), atol=1e-8)
    mapped = map_direction(w, embed[:, 0])
    assert np.allclose(mapped, np.eye(8)[0], atol=1e-6)


def test_matched_layer_keeps_relative_depth():
    assert matched_layer(29, 30, 18) == 17  # last to last
    assert matched_layer(14, 30, 18) == 8   # (15/30) * 18 - 1
    assert matched_layer(8, 18, 30) == 14
    assert matched_layer(0, 30, 18) == 0    # never below the first block
