"""The arithmetic of the residualised controls.

(The one-feature baselines' fit, `fit_scores`, lives with the surface battery in core/stats/surface.py.)
`residualize` removes from a score what a straight line in a covariate predicts (slope fit on TRAIN,
pooled or within class; controls.py), and `pair_wins` asks, on matched pairs, how often the
empathic text still outscores its partner.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def residualize(train_scores: np.ndarray, train_length: np.ndarray, scores: np.ndarray, length: np.ndarray,
                train_labels: np.ndarray | None = None) -> np.ndarray:
    """`scores` minus b * length, b the least-squares slope of score on length fitted on train.

    Without labels, b is the pooled slope: any class signal that length also carries is removed too
    (a conservative bound). With labels, a class term joins the fit, so b is the within-class slope
    (the usual covariate adjustment: only the score's dependence on length at fixed class is removed).
    """
    columns = [np.ones(len(train_length)), train_length.astype(np.float64)]
    if train_labels is not None:
        columns.append(train_labels.astype(np.float64))
    coef, *_ = np.linalg.lstsq(np.column_stack(columns), train_scores.astype(np.float64), rcond=None)
    return scores - coef[1] * length


def pair_wins(pos_scores: np.ndarray, neg_scores: np.ndarray, keep: Sequence[bool] | np.ndarray) -> tuple[float, int]:
    """Share of kept pairs whose positive text outscores its negative (ties count half), and their count."""
    keep = np.asarray(keep, dtype=bool)
    if not keep.any():
        return float("nan"), 0
    diff = pos_scores[keep] - neg_scores[keep]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean()), int(keep.sum())
