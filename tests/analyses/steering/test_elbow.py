"""The stable elbow: the start of a run of successes reaching the grid's end, per sign."""

from __future__ import annotations

import math

import pandas as pd

from analyses.steering.verdicts import smallest_per_sign, stable_elbow


def _grid(hits: dict[float, bool]) -> tuple[pd.Series, pd.Series]:
    return pd.Series(list(hits)), pd.Series(list(hits.values()))


def test_isolated_significant_alpha_is_ignored():
    alphas, hits = _grid({0: False, 1: False, 2: True, 3: False, 5: True, 7: True, 10: True})
    assert stable_elbow(alphas, hits)[1] == 5.0
    assert smallest_per_sign(alphas, hits)[1] == 2.0  # the old rule takes the isolated hit


def test_no_elbow_when_the_largest_alpha_fails():
    alphas, hits = _grid({1: True, 2: True, 3: False})
    assert math.isnan(stable_elbow(alphas, hits)[1])


def test_negative_sign_uses_magnitudes_and_unordered_input():
    alphas, hits = _grid({-10: True, -1: True, -3: True, -2: False, 0: False, 4: True})
    elbow = stable_elbow(alphas, hits)
    assert elbow[-1] == -3.0 and elbow[1] == 4.0


def test_absent_sign_is_nan():
    alphas, hits = _grid({0: False, 1: True})
    assert math.isnan(stable_elbow(alphas, hits)[-1])
