"""Controls that remove the surface signal, on synthetic data with known answers."""

from __future__ import annotations

import numpy as np

from analyses.probes.controls import erased, length_control, residualised_row
from analyses.probes.frame import Frame
from core.config import load_params
from tests.conftest import ROOT


def _frame(n_inst: int = 120, seed: int = 0) -> Frame:
    """Two texts (one empathic) per instance; the first 60% of instances train, the rest test."""
    inst = np.repeat(np.arange(n_inst), 2)
    y = np.tile([True, False], n_inst)
    splits = np.where(inst < int(0.6 * n_inst), "train", "test")
    return Frame(y, splits, inst.astype(str), (inst % 6).astype(str), 200, seed)


def test_a_score_that_is_the_covariate_loses_its_auroc_both_ways():
    frame = _frame()
    rng = np.random.default_rng(1)
    cov = 2.0 * frame.y + rng.normal(0, 1, len(frame.y))
    row = residualised_row(cov + rng.normal(0, 0.05, len(cov)), cov, frame)
    assert row["test_auroc"] > 0.8
    assert abs(row["within_auroc"] - 0.5) < 0.15 and abs(row["pooled_auroc"] - 0.5) < 0.15
    assert row["within_ci_low"] <= row["within_auroc"] <= row["within_ci_high"]


def test_a_probe_with_its_own_signal_survives_within_class_but_not_pooled_removal():
    frame = _frame()
    rng = np.random.default_rng(2)
    cov = 2.0 * frame.y + rng.normal(0, 1, len(frame.y))  # the covariate also separates the classes
    score = 3.0 * frame.y + rng.normal(0, 1, len(cov))  # ... but the probe does not use it
    row = residualised_row(score, cov, frame)
    assert row["within_auroc"] > 0.9  # within-class slope ~ 0: nothing to remove
    assert row["pooled_auroc"] < row["within_auroc"] - 0.1  # the pooled slope takes the shared class signal


def test_length_control_keeps_its_column_names_and_counts_pairs():
    frame = _frame()
    rng = np.random.default_rng(3)
    length = rng.normal(100, 10, len(frame.y))
    score = frame.y + rng.normal(0, 0.3, len(length))
    test = np.flatnonzero(frame.mask("test"))
    pairs = test.reshape(-1, 2)
    table = length_control({"mean_diff": (3, score)}, length, pairs, frame)
    assert {"adjusted_auroc", "adjusted_ci_low", "residual_auroc", "residual_ci_high", "length_score_corr",
            "test_ci_low", "pair_wins_empathic_not_longer"} <= set(table.columns)
    assert table.n_pairs.iloc[0] == len(pairs)
    assert table.n_pairs_empathic_not_longer.iloc[0] == int((length[pairs[:, 0]] <= length[pairs[:, 1]]).sum())


def test_erasing_the_feature_that_carries_the_class_leaves_chance_and_spares_an_independent_signal():
    frame = _frame(200)
    rng = np.random.default_rng(4)
    n, d = len(frame.y), 16
    z = (1.5 * frame.y + rng.normal(0, 1, n))[:, None]  # a surface feature that tracks the class
    only_z = rng.normal(0, 1, (n, d))
    only_z[:, 0] += 3 * z[:, 0]  # the class is readable only through z
    own = only_z.copy()
    own[:, 1] += 4.0 * frame.y  # ... plus a class signal beyond z (LEACE removes only its part that covaries with z)
    acts = np.stack([only_z, own])
    cfg = load_params(ROOT / "params.yaml").probes.model_copy(update={"methods": ["mean_diff", "logistic"]})
    table = erased(cfg, acts, [0, 1], {"z": z}, frame).set_index(["layer", "method"])
    assert (table.loc[0].auroc < 0.65).all()  # nothing left once z is linearly gone
    assert (table.loc[1].auroc > 0.8).all()
    assert (table.n_features == 1).all()

