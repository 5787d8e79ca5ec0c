"""The surface battery: reproduces issue 12's figures on the shipped data, finds a planted lexical
shortcut, finds nothing under shuffled labels, learns one-feature orientations on train only."""

from __future__ import annotations

import numpy as np
import pytest

from core.data import load_dataset
from core.data.lexicon import Lexicon
from core.data.splits import assign_splits
from core.stats.estimates import auroc
from core.stats.surface import (
    BASELINES,
    battery_table,
    best_baseline,
    crossfit_scores,
    erasure_features,
    probe_margin,
    pronoun_count,
    strip_lexicon,
    surface_scores,
)
from tests.conftest import ROOT

CHEAP = [n for n in BASELINES if n != "minilm"]  # minilm embeds every text: ~1 min on 2 cores


@pytest.fixture(scope="module")
def shipped():
    ds = load_dataset(ROOT / "data" / "dataset_expanded.json", ROOT / "data" / "scenarios.json")
    lexicon = Lexicon.load(ROOT / "data" / "lexicon.json")
    texts = [t.text for t in ds.texts]
    y = np.array([t.empathic for t in ds.texts])
    splits = assign_splits(ds.texts, "families")
    clusters = [t.instance_id for t in ds.texts]
    return ds, lexicon, texts, y, splits, clusters


@pytest.fixture(scope="module")
def shipped_table(shipped):
    _, lexicon, texts, y, splits, clusters = shipped
    scores = surface_scores(texts, y, splits, lexicon, CHEAP)
    return battery_table(scores, y, splits, clusters, 500, seed=0).set_index(["baseline", "split"])


@pytest.mark.parametrize(("name", "issue_12"), [("bow_tfidf", 0.995), ("bow_tfidf_no_lexicon", 0.993),
                                                ("bow_binary", 0.963), ("pronoun_count", 0.978)])
def test_reproduces_issue_12_on_the_shipped_test_families(shipped_table, name, issue_12):
    row = shipped_table.loc[(name, "test")]
    assert row.auroc == pytest.approx(issue_12, abs=0.02)
    assert row.ci_low <= row.auroc <= row.ci_high
    assert row.n == 108 and row.n_instances == 34


def test_lexicon_count_is_inverted_and_its_orientation_comes_from_train(shipped, shipped_table):
    _, lexicon, texts, y, splits, _ = shipped
    raw = np.array([lexicon.count(t) for t in texts], dtype=float)
    split = np.asarray(splits)
    train, test = split == "train", split == "test"
    assert auroc(raw[train], y[train]) < 0.42 and 0.30 <= auroc(raw[test], y[test]) <= 0.42  # issue 12: 0.35-0.40
    # fitted on train, the baseline learns "fewer lexicon words = empathic", which holds on test too
    assert shipped_table.loc[("lexicon_count", "test")].auroc == pytest.approx(1 - auroc(raw[test], y[test]))


def test_empathic_text_has_at_least_as_many_pronouns_in_53_of_54_test_pairs(shipped):
    ds = shipped[0]
    test_pairs = [p for p in ds.pairs if p.kind.startswith("empathy") and p.split == "test"]
    gap = np.array([pronoun_count(p.positive.text) - pronoun_count(p.negative.text) for p in test_pairs])
    assert len(gap) == 54 and (gap >= 0).sum() == 53 and (gap > 0).sum() == 52  # issue 12's "53 of 54" counts a tie


def test_stripping_leaves_no_lexicon_word(shipped):
    _, lexicon, texts, *_ = shipped
    assert sum(lexicon.count(t) for t in texts) > 100
    assert all(lexicon.count(strip_lexicon(t, lexicon)) == 0 for t in texts)


@pytest.mark.slow
def test_minilm_classifier_reproduces_issue_12(shipped):
    _, lexicon, texts, y, splits, clusters = shipped
    table = battery_table(surface_scores(texts, y, splits, lexicon, ["minilm"]), y, splits, clusters, 200, 0)
    assert table.set_index("split").loc["test"].auroc == pytest.approx(0.889, abs=0.02)


FILLER = [f"w{i}" for i in range(300)]


def _synthetic(shortcut: bool, n_instances=120, seed=0):
    """Pairs of filler-word texts; with `shortcut`, every positive text carries the word 'zebra' twice
    (once in 40 tokens is too faint for TF-IDF + L2 logistic at C=1 on 60 train pairs: AUROC ~0.68)."""
    rng = np.random.default_rng(seed)
    texts, y, clusters = [], [], []
    for i in range(n_instances):
        for positive in (True, False):
            words = list(rng.choice(FILLER, 40))
            if shortcut and positive:
                for j in rng.choice(40, 2, replace=False):
                    words[j] = "zebra"
            texts.append(" ".join(words))
            y.append(positive)
            clusters.append(f"inst{i}")
    splits = ["train" if i < 60 else "validation" if i < 80 else "test" for i in range(n_instances) for _ in (0, 1)]
    return texts, np.array(y), splits, clusters


def test_finds_a_planted_lexical_shortcut_and_nothing_under_shuffled_labels():
    lexicon = Lexicon({})
    texts, y, splits, clusters = _synthetic(shortcut=True)
    names = ["bow_tfidf", "bow_binary"]
    planted = battery_table(surface_scores(texts, y, splits, lexicon, names), y, splits, clusters, 300, 0)
    assert (planted[planted.split == "test"].auroc > 0.95).all()
    shuffled = np.random.default_rng(1).permutation(y)
    null = battery_table(surface_scores(texts, shuffled, splits, lexicon, names), shuffled, splits, clusters, 300, 0)
    assert (abs(null.auroc - 0.5) < 0.15).all()  # 80 test texts: chance sd ~0.065


def test_lexicon_removal_kills_a_lexicon_shortcut():
    texts, y, splits, clusters = _synthetic(shortcut=True)
    scores = surface_scores(texts, y, splits, Lexicon({"g": ("zebra",)}), ["bow_tfidf", "bow_tfidf_no_lexicon"])
    table = battery_table(scores, y, splits, clusters, 300, 0).set_index(["baseline", "split"])
    assert table.loc[("bow_tfidf", "test")].auroc > 0.95
    assert abs(table.loc[("bow_tfidf_no_lexicon", "test")].auroc - 0.5) < 0.15


def test_one_feature_orientation_is_learnt_on_train_and_never_flipped_on_test():
    # empathic texts are LONGER in train and SHORTER in test: a test-fitted sign would report ~1.0
    texts = [" ".join(["a"] * n) for n in (50, 40) * 20 + (40, 50) * 10]
    y = np.array([True, False] * 30)
    splits = ["train"] * 40 + ["test"] * 20
    clusters = [f"i{k // 2}" for k in range(60)]
    table = battery_table(surface_scores(texts, y, splits, Lexicon({}), ["length"]), y, splits, clusters, 100, 0)
    assert table.set_index("split").loc["test"].auroc == 0.0


def test_best_baseline_is_chosen_on_validation_and_margin_of_itself_is_zero():
    texts, y, splits, clusters = _synthetic(shortcut=True)
    scores = surface_scores(texts, y, splits, Lexicon({}), ["bow_tfidf", "length"])
    table = battery_table(scores, y, splits, clusters, 200, 0)
    assert best_baseline(table) == "bow_tfidf"
    tweaked = table.assign(auroc=np.where(table.split == "test", 1 - table.auroc, table.auroc))
    assert best_baseline(tweaked) == "bow_tfidf"  # test AUROCs never choose
    same = probe_margin(scores["bow_tfidf"], scores["bow_tfidf"], y, splits, clusters, 300, 0)
    assert (same["margin"], same["margin_ci_low"], same["margin_ci_high"]) == (0.0, 0.0, 0.0)
    margin = probe_margin(scores["bow_tfidf"], scores["length"], y, splits, clusters, 300, 0)
    assert margin["margin_ci_low"] > 0.2


def test_unknown_baseline_is_refused_and_erasure_features_have_four_columns():
    with pytest.raises(ValueError, match="unknown"):
        surface_scores(["a"], np.array([True]), ["train"], Lexicon({}), ["bow_trigram"])
    z = erasure_features(["He said she was kind.", "I left"], Lexicon({"g": ("kind",)}), np.array([0.3, -0.2]))
    assert z.tolist() == [[2, 5, 1, 0.3], [0, 2, 0, -0.2]]


def test_crossfit_train_scores_come_from_models_that_never_saw_the_text():
    texts, y, splits, clusters = _synthetic(shortcut=False)
    groups = [f"fam{int(c[4:]) % 6}" for c in clusters]  # six "families" in train
    full = surface_scores(texts, y, splits, Lexicon({}), ["bow_tfidf"])["bow_tfidf"]
    oof = crossfit_scores("bow_tfidf", texts, y, splits, groups, Lexicon({}), folds=3)
    train = np.asarray(splits) == "train"
    assert auroc(full[train], y[train]) > 0.95  # in sample, pure noise words memorise the labels
    assert abs(auroc(oof[train], y[train]) - 0.5) < 0.15  # out of fold: nothing generalises
    assert np.array_equal(oof[~train], full[~train])
