"""The battery's rows, the best-baseline choice and the probe's margin and hard pairs."""

from __future__ import annotations

import numpy as np
import pytest

from analyses.probes.frame import Frame
from analyses.probes.margin import battery, hard_pairs, margin_columns, verdict
from core.config import load_params
from core.data.lexicon import Lexicon
from tests.conftest import ROOT


def _frame(n_inst: int = 90) -> Frame:
    inst = np.repeat(np.arange(n_inst), 2)
    splits = np.array(["train", "validation", "test"])[inst % 3]
    return Frame(np.tile([True, False], n_inst), splits, inst.astype(str), (inst % 9).astype(str), 200, 0)


@pytest.mark.parametrize(("lo", "hi", "expected"), [(0.01, 0.05, "probe"), (-0.05, -0.01, "baseline"),
                                                    (-0.01, 0.02, "undetermined"), (0.0, 0.02, "undetermined")])
def test_verdict_needs_the_ci_to_exclude_zero(lo, hi, expected):
    assert verdict(lo, hi) == expected


def test_a_probe_that_is_the_baseline_plus_noise_has_a_margin_ci_around_zero_or_below():
    frame = _frame()
    rng = np.random.default_rng(0)
    base = frame.y + rng.normal(0, 0.6, len(frame.y))
    same = margin_columns(base, base, frame)
    assert same["margin"] == 0 and same["margin_ci_low"] == same["margin_ci_high"] == 0
    assert same["margin_verdict"] == "undetermined" and not same["margin_excludes_zero"]
    better = margin_columns(3 * frame.y + rng.normal(0, 0.6, len(base)), base, frame)
    assert better["margin_verdict"] == "probe" and better["margin_ci_low"] > 0


def test_hard_pairs_scores_the_probe_only_where_the_baseline_is_wrong():
    frame = _frame(10)
    pairs = np.arange(20).reshape(-1, 2)
    baseline = np.where(frame.y, 1.0, 0.0)
    baseline[[0, 2, 4]] = -1.0  # the baseline ranks pairs 0, 1 and 2 wrongly
    probe = np.where(frame.y, 1.0, 0.0)
    probe[2] = -1.0  # the probe gets pair 1 wrong, pairs 0 and 2 right
    out = hard_pairs(probe, baseline, pairs, frame)
    assert out["n_pairs_baseline_wrong"] == 3 and out["n_pairs"] == 10
    assert out["probe_wins_baseline_wrong"] == pytest.approx(2 / 3)
    assert 0 <= out["probe_wins_ci_low"] <= 2 / 3 <= out["probe_wins_ci_high"] <= 1
    none = hard_pairs(probe, np.where(frame.y, 1.0, 0.0), pairs, frame)
    assert none["n_pairs_baseline_wrong"] == 0 and np.isnan(none["probe_wins_baseline_wrong"])


def test_token_embeddings_is_a_battery_row_and_the_best_is_chosen_on_validation():
    frame = _frame()
    rng = np.random.default_rng(1)
    embeddings = rng.normal(0, 1, (len(frame.y), 8))
    embeddings[:, 0] += 3 * frame.y  # the embeddings carry the class
    texts = ["she was upset so I stopped" if e else "I finished the job" for e in frame.y]
    cfg = load_params(ROOT / "params.yaml").probes.model_copy(
        update={"surface_baselines": ["length", "pronoun_count", "token_embeddings"]})
    scores, table = battery(cfg, texts, frame, Lexicon.load(ROOT / "data" / "lexicon.json"), embeddings)
    assert set(scores) == {"length", "pronoun_count", "token_embeddings"}
    assert len(table) == 3 * 2 and set(table.split) == {"validation", "test"}
    emb = table[table.baseline == "token_embeddings"].set_index("split").auroc
    assert emb.min() > 0.95
    chosen = table[table.chosen].baseline.unique()
    val = table[table.split == "validation"]
    assert list(chosen) == [val.loc[val.auroc.idxmax(), "baseline"]]
