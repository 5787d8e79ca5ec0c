"""Orthogonal Procrustes maps between two activation spaces, and directions carried through them.

Fit W minimising ||Xs W - Xt||_F over W with orthonormal rows (d_s <= d_t) or orthonormal columns
(d_s > d_t), on the centred activations of the SAME texts in both spaces: W = U V^T from the thin SVD
of Xs^T Xt. When the widths differ (SmolLM2's 576 vs Gemma-3's 640) W is semi-orthogonal: it is an
isometry from the smaller space into the larger one, so no PCA step is needed and nothing is rescaled.
Used by the probes phase (probe transfer across layers and models) and the steering phase (steering a
model with another model's direction).
"""

from __future__ import annotations

import numpy as np


def procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """[d_s, d_t] semi-orthogonal map fitted on paired rows [n, d_s] and [n, d_t]."""
    if source.shape[0] != target.shape[0]:
        raise ValueError(f"paired rows differ: {source.shape[0]} vs {target.shape[0]}")
    xs = source - source.mean(0)
    xt = target - target.mean(0)
    u, _, vt = np.linalg.svd(xs.T @ xt, full_matrices=False)
    return u @ vt


def map_direction(w: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """A source-space direction expressed in the target space, renormalised to unit length (a map from
    the larger space into the smaller one drops the part of it outside the fitted subspace)."""
    mapped = w.T @ direction
    return mapped / np.linalg.norm(mapped)


def matched_layer(layer: int, n_from: int, n_to: int) -> int:
    """The layer of an n_to-layer model at the same relative depth (layer+1)/n as `layer` of an
    n_from-layer one (the last layer maps to the last layer)."""
    return min(n_to - 1, max(0, round((layer + 1) / n_from * n_to) - 1))
