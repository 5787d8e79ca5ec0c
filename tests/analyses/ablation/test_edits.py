"""Lexical ablation: one pass, no lexicon word survives or is created, a matched random control."""

from __future__ import annotations

import re

import pytest

from analyses.ablation.edits import NEUTRAL_WORDS, WORD, ablate_lexicon, ablate_random, check_replacements, crossed
from core.data import load_dataset
from core.data.lexicon import Lexicon
from core.errors import InputError
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.load(ROOT / "data" / "lexicon.json")


@pytest.fixture(scope="module")
def texts():
    return load_dataset(ROOT / "data" / "dataset_expanded.json", ROOT / "data" / "scenarios.json").texts


def test_no_replacement_word_is_a_lexicon_word(lexicon):
    assert check_replacements(lexicon) == NEUTRAL_WORDS
    assert not set(NEUTRAL_WORDS) & lexicon.words
    with pytest.raises(InputError, match="lexicon words"):
        check_replacements(lexicon, ("table", "caring"))


@pytest.mark.parametrize("mode", ["replace", "remove"])
def test_ablation_leaves_no_lexicon_word_in_any_text(lexicon, texts, mode):
    total = 0
    for t in texts:
        out = ablate_lexicon(t.text, t.text_id, lexicon, mode, seed=1)
        assert lexicon.count(out.text) == 0, t.text_id
        assert out.n_replaced == lexicon.count(t.text)
        total += out.n_replaced
    assert total > 0  # the dataset does contain lexicon words, so the check is not vacuous


def test_one_pass_never_rewrites_a_replacement(lexicon):
    # v0's chained passes turned help -> support -> back; here each hit is replaced exactly once
    out = ablate_lexicon("Help them. I care, I feel their pain.", "t", lexicon, "replace", seed=3)
    words = WORD.findall(out.text)
    assert out.n_replaced == 4 and len(words) == 8
    assert sum(w.lower() in NEUTRAL_WORDS for w in words) == 4
    assert words[0][0].isupper()  # capitalisation kept


def test_removal_tidies_the_whitespace(lexicon):
    out = ablate_lexicon("I care , and I listen.", "t", lexicon, "remove", seed=0)
    assert out.text == "I, and I." and out.n_replaced == 2


def test_empty_lexicon_leaves_texts_unchanged(texts):
    empty = Lexicon({})
    for t in texts[:20]:
        assert ablate_lexicon(t.text, t.text_id, empty, "replace", seed=0).text == t.text
        assert ablate_random(t.text, t.text_id, empty, 0, "replace", seed=0).text == t.text


def test_random_control_edits_k_non_lexicon_words(lexicon):
    text = "I care about the route, so I help the driver and then drive the van back to the depot."
    k = lexicon.count(text)
    out = ablate_random(text, "t", lexicon, k, "replace", seed=5)
    assert out.n_replaced == k == 2
    assert lexicon.find(out.text) == lexicon.find(text)  # lexicon words untouched
    changed = [a for a, b in zip(WORD.findall(text), WORD.findall(out.text), strict=True) if a != b]
    assert len(changed) <= k and out.text != text
    assert out == ablate_random(text, "t", lexicon, k, "replace", seed=5)  # seeded per text


def test_crossed_pairs(lexicon):
    assert crossed("I stopped and stayed with her.", "I cared only about the task.", lexicon)
    assert not crossed("I cared for her.", "I cared only about the task.", lexicon)
    assert not re.search(r"\s{2,}", ablate_lexicon("so  I help", "t", lexicon, "remove", 0).text)
