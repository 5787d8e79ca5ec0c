"""Inference shared by the causal phases: the sign-flip test over instances, Holm per family, the cue gate."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import ttest_1samp

from analyses.causal.common import CueEffect, layer_tests, sign_flip_p


def test_exact_sign_flip_p_enumerates_every_flip():
    # 3 positive instances: only the identity and the all-negative flip reach |mean| -> p = 2 / 8
    assert sign_flip_p(np.array([1.0, 2.0, 3.0]), n_flips=100, seed=0)[0] == 0.25
    # |+-1 +-2 +-0.5| is 3.5, 2.5, 1.5 or 0.5, each for 2 of the 8 flips; observed 2.5 -> p = 4 / 8
    assert sign_flip_p(np.array([1.0, 2.0, -0.5]), 100, 0)[0] == 0.5


def test_monte_carlo_sign_flip_p_rejects_a_shift_and_not_noise():
    rng = np.random.default_rng(0)
    shifted = rng.normal(0.8, 1.0, size=(40, 1))
    p = sign_flip_p(shifted, n_flips=2000, seed=1)[0]
    assert p < 0.01 and p >= 1 / 2001  # the +1 correction: never zero
    assert abs(p - ttest_1samp(shifted[:, 0], 0).pvalue) < 0.01
    null = rng.normal(0.0, 1.0, size=(30, 400))  # 400 true-null columns
    ps = sign_flip_p(null, n_flips=1000, seed=2)
    assert 0.02 < np.mean(ps < 0.05) < 0.09  # about alpha of them reject


def test_sign_flip_p_skips_missing_values_and_degenerate_columns():
    x = np.array([[1.0, 0.0, np.nan], [2.0, 0.0, np.nan], [3.0, 0.0, 5.0]])
    p = sign_flip_p(x, 100, 0)
    assert p[0] == 0.25 and p[1] == 1.0 and np.isnan(p[2])  # one finite value is no test
    partial = sign_flip_p(np.array([[1.0], [np.nan], [2.0], [3.0]]), 100, 0)
    assert partial[0] == sign_flip_p(np.array([1.0, 2.0, 3.0]), 100, 0)[0]


def _per_instance(n: int, means: dict[int, float], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame([{"instance_id": f"i{i}", "layer": layer, "kind": "full", "value": m + rng.normal(0, 0.1)}
                         for layer, m in means.items() for i in range(n)])


def test_layer_tests_adjust_across_layers_within_each_family():
    eff = _per_instance(40, {0: 0.0, 1: 0.0, 2: 0.3, 3: 0.0})
    eff = pd.concat([eff, eff.assign(kind="other", value=eff.value + 0.5)])
    out = layer_tests(eff, "value", ["kind"], 2000, 0, 0.05).set_index(["kind", "layer"])
    full = out.loc["full"]
    assert (full.p_holm >= full.p - 1e-12).all() and full.p_holm.loc[2] < 0.05
    assert full.p.loc[2] == full.p.min() and np.isclose(full.p_holm.loc[2], min(1.0, 4 * full.p.loc[2]))
    assert (out.loc["other"].p_holm < 0.05).all()  # every layer shifted in that family


def test_the_cue_gate_needs_a_ci_excluding_zero_and_nothing_withheld():
    assert not CueEffect.of(np.array([0.1, -0.1, 0.05, -0.05]), 200, 0).decided
    moved = CueEffect.of(np.full(10, 0.3) + np.linspace(0, 0.01, 10), 200, 0)
    assert moved.decided
    withheld = CueEffect.of(np.full(10, 0.3) + np.linspace(0, 0.01, 10), 200, 0, withheld="mass too low")
    assert withheld.ci_low > 0 and not withheld.decided and "withheld: mass too low" in withheld.text()