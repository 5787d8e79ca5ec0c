"""Cross-model (or cross-layer) transfer of a probe direction through an orthogonal Procrustes map.

Fit W minimising ||Xs W - Xt||_F with W having orthonormal rows (d_s <= d_t) or columns, on the
centred TRAIN activations of the same texts in both spaces: W = U V^T from the SVD of Xs^T Xt.
A source direction v maps to W^T v in the target space, where it is scored on the target's test split.
"""

from __future__ import annotations

import numpy as np


def procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """[d_s, d_t] semi-orthogonal map fitted on paired rows of source and target."""
    xs = source - source.mean(0)
    xt = target - target.mean(0)
    u, _, vt = np.linalg.svd(xs.T @ xt, full_matrices=False)
    return u @ vt


def map_direction(w: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """A source-space unit direction expressed (and renormalised) in the target space."""
    mapped = w.T @ direction
    return mapped / np.linalg.norm(mapped)
