"""Lexical ablation: one pass, no lexicon word survives or is created, a matched random control."""

from __future__ import annotations

import re

import pytest

from analyses.ablation.edits import NEUTRAL_WORDS, WORD, ablate_lexicon, ablate_matched, check_replacements, crossed
from analyses.ablation.matching import FrequencyBands, word_class
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
        assert ablate_matched(t.text, t.text_id, empty, FrequencyBands.of([], 1.0), "replace", seed=0).text == t.text


def test_matched_control_edits_one_word_per_lexicon_hit(lexicon):
    text = "I care about the route, so I help the driver and then drive the van back to the depot."
    bands = FrequencyBands.of([text], 1.0)
    out = ablate_matched(text, "t", lexicon, bands, "replace", seed=5)
    assert out.n_replaced == lexicon.count(text) == 2
    assert lexicon.find(out.text) == lexicon.find(text)  # lexicon words untouched
    changed = [a for a, b in zip(WORD.findall(text), WORD.findall(out.text), strict=True) if a != b]
    assert 0 < len(changed) <= 2
    assert out == ablate_matched(text, "t", lexicon, bands, "replace", seed=5)  # seeded per text


def test_control_matches_part_of_speech_before_frequency(lexicon):
    # "helped" (past) and "kindly" (adverb) have one past and one adverb candidate each: those must be chosen,
    # never the function words ("I", "the", "so"), whatever the seed
    text = "I helped the man so kindly, and I walked the dog slowly."
    for seed in range(10):
        out = ablate_matched(text, "t", lexicon, FrequencyBands.of([text], 1.0), "replace", seed)
        changed = {a for a, b in zip(WORD.findall(text), WORD.findall(out.text), strict=True) if a != b}
        assert changed == {"walked", "slowly"} and out.n_pos_matched == 2


def test_control_matches_the_frequency_band_within_a_class(lexicon):
    corpus = ["help"] * 8 + ["road"] * 8 + ["van"]  # help and road in band 3, van in band 0
    text = "I help on the road by the van."
    for seed in range(10):
        out = ablate_matched(text, "t", lexicon, FrequencyBands.of(corpus, 1.0), "remove", seed)
        assert "road" not in out.text and "van" in out.text and out.n_band_matched == 1


def test_word_class_heuristic():
    assert [word_class(w) for w in ("kindly", "helping", "cared", "kindness", "helpful", "feels", "care")] == [
        "adverb", "gerund", "past", "noun", "adjective", "plural", "stem"]
    assert word_class("the") == word_class("don't") == "function"
    assert word_class("Maria", sentence_start=False) == "proper" and word_class("Maria") == "stem"


def test_crossed_pairs(lexicon):
    assert crossed("I stopped and stayed with her.", "I cared only about the task.", lexicon)
    assert not crossed("I cared for her.", "I cared only about the task.", lexicon)
    assert not re.search(r"\s{2,}", ablate_lexicon("so  I help", "t", lexicon, "remove", 0).text)
