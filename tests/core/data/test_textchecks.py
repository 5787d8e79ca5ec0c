"""Every validation check on hand-made texts whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from core.data import textchecks as tc
from core.raters.embedding import mean_pairwise_distance


def test_exact_duplicates_ignore_case_and_spacing():
    assert tc.exact_duplicates(["I stop and help.", "i stop  and HELP.", "I walk on."]) == [True, True, False]


def test_near_duplicate_similarity_is_exact_jaccard_across_instances():
    texts = ["a b c d", "a b c e", "a b c d", "x y z w"]
    groups = ["i1", "i2", "i1", "i3"]
    # 2-shingles: {ab, bc, cd} vs {ab, bc, ce}: 2 shared of 4 -> 0.5; the identical text 3 is the SAME instance
    assert tc.max_similarity_other(texts, groups, k=2) == [0.5, 0.5, 0.5, 0.0]
    assert tc.max_similarity_other(texts, ["i1", "i2", "i3", "i4"], k=2)[0] == 1.0


def test_ngram_sharing_counts_only_other_instances():
    shared = "one two three four five six seven eight"
    texts = [f"{shared} nine", f"{shared} ten", "alpha beta gamma delta epsilon zeta eta theta iota", f"x {shared}"]
    assert tc.shares_ngram_other(texts, ["a", "a", "b", "c"], n=8) == [True, True, False, True]
    assert tc.shares_ngram_other(texts[:2], ["a", "a"], n=8) == [False, False]
    assert tc.shares_ngram_other(["one two three four five six seven nine"], ["z"], n=8) == [False]


@pytest.mark.parametrize("text, n", [
    ("I walk over, kneel down and ask the boy where he last saw his mother.", 0),
    ("The jug holds 3.5 litres, e.g. enough for two cells - then I turn east.", 0),
    ("- first I stop\n- then I help", 2),
    ("1. Stop.\n2) Help.", 2),
    ("# Plan\nI **really** help, see `notes` and [this](http://x.y).", 4),
])
def test_format_markers(text, n):
    assert tc.format_markers(text) == n


def test_length_gap_is_relative_to_the_shorter_text():
    assert tc.length_gap(100, 115) == pytest.approx(0.15)
    assert tc.length_gap(115, 100) == pytest.approx(0.15)
    assert tc.length_gap(100, 116) > 0.15


def test_word_count_and_words():
    assert tc.word_count("I don't stop - ever.") == 5
    assert tc.words("I don't stop - ever.") == ["i", "don't", "stop", "ever"]


def test_distinct_n():
    assert tc.distinct_n(["a a a b"], 1) == 0.5  # {a, b} of 4
    assert tc.distinct_n(["a a a b"], 2) == pytest.approx(2 / 3)  # {aa, ab} of aa, aa, ab
    assert tc.distinct_n(["a b", "a b"], 1) == 0.5


def test_vader_sign():
    assert tc.sentiment("I am so glad I could help; she was happy and grateful.") > 0.5
    assert tc.sentiment("This is terrible, awful and cruel.") < -0.5
    assert tc.sentiment("The door is on the left.") == 0.0
    assert tc.sentiment("") == 0.0


def test_embedding_diversity_from_known_vectors():
    assert mean_pairwise_distance(np.eye(3, dtype=np.float32)) == pytest.approx(1.0)
    same = np.tile(np.array([[0.6, 0.8]], dtype=np.float32), (4, 1))
    assert mean_pairwise_distance(same) == pytest.approx(0.0, abs=1e-6)
    assert mean_pairwise_distance(same[:1]) == 0.0


@pytest.mark.slow
def test_sentence_embeddings_are_offline_unit_vectors():
    from core.raters.embedding import embed

    v = embed(["I stop to help the crying child find her father.",
               "I pause to help the lost little girl look for her dad.",
               "The quarterly tax report is due on Friday."])
    assert v.shape == (3, 384) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3
