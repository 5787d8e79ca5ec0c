"""Ablation phase pieces: an empty lexicon changes no text and no AUROC; crossed pairs; paired bootstrap."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from analyses.ablation import _auroc_rows, crossed_mask, edit_texts, paired_difference, variant_acts
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
    edits = edit_texts(texts, Lexicon({}), load_params(ROOT / "params.yaml").ablation, seed=0)
    for variant in edits.values():
        assert all(variant[t.text_id].text == t.text and variant[t.text_id].n_replaced == 0 for t in texts)
    rng = np.random.default_rng(0)
    original = rng.normal(size=(2, len(texts), 8)).astype(np.float32)
    cache = SimpleNamespace(done_ids=lambda: set())
    acts = {"original": original, **{v: variant_acts(_NoModel(), texts, edits[v], original, cache) for v in edits}}
    labels = np.array([t.empathic for t in texts])
    direction = rng.normal(size=8)
    scores = {v: a[1] @ direction for v, a in acts.items()}
    rows = {r["variant"]: r for r in _auroc_rows(scores, labels, np.ones(len(texts), bool), 1, "m", 50, 0)}
    for variant in ("lexicon_removed", "random_removed"):
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


def test_paired_difference_of_identical_scores_is_zero():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 40).astype(bool)
    s = rng.normal(size=40) + labels
    diff, lo, hi = paired_difference(s, s.copy(), labels, 100, 0)
    assert diff == lo == hi == 0.0
    diff, lo, hi = paired_difference(s, -s, labels, 100, 0)
    assert diff > 0 and lo > 0
