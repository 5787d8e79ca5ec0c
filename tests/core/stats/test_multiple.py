"""Holm wrapper: equals statsmodels on finite p-values, leaves NaN out of the family."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from core.stats.multiple import holm


def test_matches_statsmodels():
    p = np.random.default_rng(0).uniform(0, 0.1, 12)
    adjusted, reject = holm(p, alpha=0.05)
    want_reject, want_adj, _, _ = multipletests(p, alpha=0.05, method="holm")
    assert np.allclose(adjusted, want_adj) and np.array_equal(reject, want_reject)


def test_hand_computed_step_down():
    adjusted, reject = holm(np.array([0.01, 0.04, 0.03]))
    assert adjusted == pytest.approx([0.03, 0.06, 0.06])  # 3 x .01, max(2 x .03, .03), max(1 x .04, .06)
    assert reject.tolist() == [True, False, False]


def test_nan_is_left_nan_and_out_of_the_family():
    adjusted, reject = holm(np.array([0.01, np.nan, 0.02]))
    assert np.isnan(adjusted[1]) and not reject[1]
    assert adjusted[[0, 2]] == pytest.approx([0.02, 0.02])  # m = 2, not 3
    all_nan, none = holm(np.array([np.nan, np.nan]))
    assert np.isnan(all_nan).all() and not none.any()
