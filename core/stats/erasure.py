"""LEACE concept erasure (Belrose et al. 2023, `concept-erasure`): remove from activations every
linear trace of a set of surface features, then ask what a probe can still decode.

The eraser is fit on TRAIN activations [n, d] against the features [n, k] (e.g. pronoun count,
length, lexicon count, a bag-of-words score) and applied unchanged to every split, as a probe
would be. After erasure the train activations have zero cross-covariance with the features, so no
linear regression on them predicts any feature better than its mean; LEACE is the least-squares
smallest edit with that property, so directions uncorrelated with the features are left alone.
Features are standardised on train first so that the fitter's singular-value cut-off (svd_tol)
means the same thing whatever a feature's units.
"""

from __future__ import annotations

import numpy as np
import torch
from concept_erasure import LeaceEraser


def _standardise(z_train: np.ndarray) -> np.ndarray:
    z = np.asarray(z_train, dtype=np.float64).reshape(len(z_train), -1)
    sd = z.std(axis=0)
    return (z - z.mean(axis=0)) / np.where(sd > 0, sd, 1.0)  # a constant feature carries nothing to erase


def fit_eraser(x_train: np.ndarray, z_train: np.ndarray) -> LeaceEraser:
    """LEACE eraser of the features `z_train` [n, k] from `x_train` [n, d] (float64)."""
    x = torch.as_tensor(np.asarray(x_train, dtype=np.float64))
    return LeaceEraser.fit(x, torch.as_tensor(_standardise(z_train)))


def apply_eraser(eraser: LeaceEraser, x: np.ndarray) -> np.ndarray:
    """Erased copy of activations `x` [m, d] (any split), float64."""
    with torch.no_grad():
        return eraser(torch.as_tensor(np.asarray(x, dtype=np.float64))).numpy()


def erase_features(x: np.ndarray, z: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Fit on the `train` rows of (x [n, d], z [n, k]) and erase every row of x."""
    train = np.asarray(train, dtype=bool)
    return apply_eraser(fit_eraser(np.asarray(x)[train], np.asarray(z)[train]), x)
