"""Multiple-testing control: Holm's step-down adjustment (statsmodels), tolerant of missing p-values.

A family (e.g. the layers of one model and metric) is adjusted together. A NaN p-value is a test
that was not run (no verdict, e.g. a total effect whose CI includes zero); it is left out of the
family, so it neither counts towards m nor gets rejected, and it stays NaN.
"""

from __future__ import annotations

import numpy as np
from statsmodels.stats.multitest import multipletests


def holm(p_values: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Holm-adjusted p-values and reject flags (family-wise error `alpha`) over the finite entries."""
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full(p.shape, np.nan)
    reject = np.zeros(p.shape, dtype=bool)
    finite = np.isfinite(p)
    if finite.any():
        rej, adj, _, _ = multipletests(p[finite], alpha=alpha, method="holm")
        adjusted[finite], reject[finite] = adj, rej
    return adjusted, reject
