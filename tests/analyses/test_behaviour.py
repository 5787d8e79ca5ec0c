"""The behaviour phase's tables and verdicts from base runs: per-metric cue effects and the letter gate."""

from __future__ import annotations

import numpy as np
import pytest

from analyses.behaviour import (
    CONTROLS,
    contrasts,
    control_rows,
    control_verdict,
    effect_row,
    instance_rows,
    score_rows,
    verdict,
)
from analyses.causal.common import cue_effect
from analyses.causal.runs import BaseRuns
from core.data.prompts import ChoicePair


def _bases(te: np.ndarray, mass: float, metric: str) -> dict[str, BaseRuns]:
    """Base runs whose metric is 0.1 + te[i] with the cue and 0.1 without, letter compliance `mass`."""
    out = {}
    for i, t in enumerate(te):
        if metric == "letter":
            pairs = tuple(ChoicePair(f"i{i}", first, (1, 2, 3), (1, 4, 3), (1, 2)) for first in (True, False))
        else:
            pairs = tuple(ChoicePair(f"i{i}", first, (1, 2, 3, 9), (1, 4, 3, 9), (1, 2), 1, option)
                          for first in (True, False) for option in ("empathic", "task"))
        n = len(pairs)
        # signed scores: the metric is their sum / 2, so each variant carries 2 x value / n
        clean = np.full(n, 2 * (0.1 + t) / n)
        corrupt = np.full(n, 2 * 0.1 / n)
        extra = np.full(n, mass)
        out[f"i{i}"] = BaseRuns(pairs, clean, corrupt, [], [], extra, extra)
    return out


@pytest.mark.parametrize("metric", ["letter", "continuation"])
def test_instance_te_and_effect_ci(metric):
    te = np.linspace(0.05, 0.15, 12)
    bases = _bases(te, 0.9, metric)
    inst = instance_rows(metric, bases)
    np.testing.assert_allclose(inst.te, te, atol=1e-12)
    effect = cue_effect(bases, metric, 0.5, 500, 0)
    row = effect_row(metric, inst, effect, True)
    assert row["ci_low"] <= row["te"] <= row["ci_high"] and row["ci_low"] > 0 and row["decided"]
    assert verdict(metric, inst, effect, True)["answer"].startswith("yes: the cue raises")
    scores = score_rows(metric, bases)
    assert len(scores) == 12 * 2 * len(bases["i0"].pairs)
    assert scores.compliance_mass.notna().all() == (metric == "letter")


def test_letter_verdict_is_withheld_below_the_mass_threshold():
    te = np.linspace(0.05, 0.15, 12)  # a clear effect on the letters ...
    low = _bases(te, 0.2, "letter")  # ... but the letters hold only 20% of the next-token mass
    effect = cue_effect(low, "letter", 0.5, 500, 0)
    inst = instance_rows("letter", low)
    assert effect.ci_low > 0 and not effect.decided
    answer = verdict("letter", inst, effect, True)["answer"]
    assert answer.startswith("withheld") and "0.20 < 0.5" in answer
    row = effect_row("letter", inst, effect, True)
    assert row["mass_median"] == pytest.approx(0.2) and row["withheld"] and not row["decided"]
    assert cue_effect(low, "letter", 0.1, 500, 0).decided  # a lower threshold lets the same data through
    assert cue_effect(_bases(te, 0.2, "continuation"), "continuation", 0.5, 500, 0).decided  # no mass gate


def test_no_verdict_while_the_ci_includes_zero():
    te = np.tile([0.05, -0.05], 6)
    bases = _bases(te, 0.9, "continuation")
    effect = cue_effect(bases, "continuation", 0.5, 500, 0)
    assert effect.ci_low < 0 < effect.ci_high
    assert verdict("continuation", instance_rows("continuation", bases), effect, True)["answer"].startswith(
        "undetermined")


def _against(neutral: dict[str, BaseRuns], cue_minus: np.ndarray) -> dict[str, BaseRuns]:
    """The same instances' runs with the negative event in the corrupt slot: the same clean (cue) runs,
    and a corrupt metric that leaves clean - corrupt = cue_minus[i]."""
    out = {}
    for (iid, b), t in zip(neutral.items(), cue_minus, strict=True):
        corrupt = b.ld_clean - 2 * t / len(b.pairs)  # the metric is the signed scores' sum / 2
        out[iid] = BaseRuns(b.pairs, b.ld_clean, corrupt, [], [], b.extra_clean, b.extra_corrupt)
    return out


@pytest.mark.parametrize("control", list(CONTROLS))
@pytest.mark.parametrize("metric", ["letter", "continuation"])
def test_controls_are_paired_contrasts_of_the_same_instances(metric, control):
    te = np.linspace(0.05, 0.15, 12)
    neutral = _bases(te, 0.9, metric)
    other = _against(neutral, te / 3)  # the control event moves the metric by two thirds of the cue's TE
    effect = cue_effect(neutral, metric, 0.5, 500, 0)
    rows = {r["contrast"]: r for r in control_rows(metric, neutral, other, effect, 500, 0, control)}
    assert set(rows) == set(contrasts(control)) and all(r["n_instances"] == 12 for r in rows.values())
    assert {r["control"] for r in rows.values()} == {control}
    assert rows["cue - neutral"]["effect"] == pytest.approx(effect.mean)
    assert rows[f"cue - {control}"]["effect"] == pytest.approx(np.mean(te / 3))
    assert rows[f"{control} - neutral"]["effect"] == pytest.approx(np.mean(te - te / 3))
    found = control_verdict(metric, list(rows.values()), control)
    assert found["answer"].startswith("yes") and CONTROLS[control][0] in found["question"]


@pytest.mark.parametrize("control", list(CONTROLS))
def test_control_verdict_says_no_when_the_control_event_matches_the_cue(control):
    te = np.linspace(0.05, 0.15, 12)
    neutral = _bases(te, 0.9, "continuation")
    other = _against(neutral, np.linspace(-0.02, 0.02, 12))  # cue - control straddles zero
    effect = cue_effect(neutral, "continuation", 0.5, 500, 0)
    rows = control_rows("continuation", neutral, other, effect, 500, 0, control)
    assert control_verdict("continuation", rows, control)["answer"] == \
        f"no: {CONTROLS[control][1]} moves the metric like the cue"
    subset = {k: v for k, v in list(other.items())[:5]}  # only 5 instances have the control event aligned
    assert control_rows("continuation", neutral, subset, effect, 500, 0, control)[0]["n_instances"] == 5
    empty = control_rows("continuation", neutral, {}, effect, 500, 0, control)
    assert control_verdict("continuation", empty, control)["answer"].startswith("undetermined: no instance")


def test_letter_controls_carry_the_mass_gate():
    te = np.linspace(0.05, 0.15, 12)
    low = _bases(te, 0.2, "letter")
    effect = cue_effect(low, "letter", 0.5, 500, 0)
    rows = control_rows("letter", low, _against(low, te / 3), effect, 500, 0)
    assert not any(r["decided"] for r in rows)
