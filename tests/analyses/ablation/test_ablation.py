"""Ablation phase pieces: an empty lexicon changes no text and no AUROC; crossed pairs; the survival call."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from analyses.ablation import Scored, auroc_rows, crossed_mask, edit_texts, paired_row, survives, variant_acts, variants
from analyses.ablation.matching import FrequencyBands
from core.config import load_params
from core.data import load_dataset
from core.data.lexicon import Lexicon
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(ROOT / "data" / "dataset_expanded.json", ROOT / "data" / "scenarios.json")


class _NoModel:
    """A context whose model must never be loaded (nothing to re-extract)."""

    @property
    def model(self):
        raise AssertionError("no text changed, so no model should be loaded")

    params = SimpleNamespace(extract=None)


def test_empty_lexicon_leaves_texts_and_auroc_unchanged(dataset):
    texts = [t for t in dataset.texts if t.split == "test"]
    cfg = load_params(ROOT / "params.yaml").ablation
    edits = edit_texts(texts, Lexicon({}), cfg, seed=0, bands=FrequencyBands.of([t.text for t in texts], 1.0))
    assert set(edits) == set(variants(cfg.mode)) == {"lexicon_replaced", "matched_replaced"}
    for variant in edits.values():
        assert all(variant[t.text_id].text == t.text and variant[t.text_id].n_replaced == 0 for t in texts)
    rng = np.random.default_rng(0)
    original = rng.normal(size=(2, len(texts), 8)).astype(np.float32)
    cache = SimpleNamespace(done_ids=lambda: set())
    acts = {"original": original, **{v: variant_acts(_NoModel(), texts, edits[v], original, cache) for v in edits}}
    labels = np.array([t.empathic for t in texts])
    direction = rng.normal(size=8)
    scored = Scored({v: a[1] @ direction for v, a in acts.items()}, labels,
                    np.array([t.instance_id for t in texts]), np.ones(len(texts), bool))
    rows = {r["variant"]: r for r in auroc_rows(scored, cfg.mode, 1, "m", 50, 0)}
    for variant in variants(cfg.mode):
        assert rows[variant]["auroc"] == rows["original"]["auroc"]
        assert (rows[variant]["ci_low"], rows[variant]["ci_high"]) == (rows["original"]["ci_low"],
                                                                       rows["original"]["ci_high"])


def test_crossed_subset_holds_whole_pairs(dataset):
    lexicon = Lexicon.load(ROOT / "data" / "lexicon.json")
    texts = [t for t in dataset.texts if t.split == "test"]
    mask = crossed_mask(dataset, texts, lexicon)
    chosen = {t.text_id for t, m in zip(texts, mask, strict=True) if m}
    assert chosen, "the test split has lexically crossed pairs"
    for t in texts:
        if t.text_id in chosen and t.empathic:
            assert lexicon.count(t.text) == 0


def _scored(lexicon_shift: float, n: int = 60, seed: int = 1) -> Scored:
    """Instances of 2 texts (one per class); the lexicon variant's scores lose `lexicon_shift` of separation."""
    rng = np.random.default_rng(seed)
    labels = np.tile([True, False], n)
    clusters = np.repeat(np.arange(n), 2)
    base = rng.normal(size=2 * n) + 1.5 * labels
    noise = rng.normal(size=2 * n)
    return Scored({"original": base, "lexicon_replaced": base - lexicon_shift * labels + 0.3 * noise,
                   "matched_replaced": base + 0.3 * noise}, labels, clusters, np.zeros(2 * n, bool))


def test_survival_needs_the_ci_below_the_margin():
    assert survives(-0.01, 0.015, 0.02) == "yes"
    assert survives(0.03, 0.08, 0.02) == "no"
    assert survives(-0.01, 0.05, 0.02) == "undetermined"  # not significant, yet not shown to survive
    assert survives(np.nan, np.nan, 0.02) == "undetermined"


def test_paired_row_calls_an_equal_edit_survival_and_a_damaging_one_not():
    same = paired_row(_scored(0.0), "replace", 3, "m", 0.02, 500, 0)
    assert same["extra_drop"] == 0.0 and same["extra_ci_high"] <= 0.02 and same["survives"] == "yes"
    assert np.isclose(same["drop_lexicon"] - same["drop_control"], same["extra_drop"])
    hurt = paired_row(_scored(1.5), "replace", 3, "m", 0.02, 500, 0)
    assert hurt["extra_ci_low"] > 0.02 and hurt["survives"] == "no"
    assert np.isclose(hurt["drop_lexicon"] - hurt["drop_control"], hurt["extra_drop"])
