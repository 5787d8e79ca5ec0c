"""Forced-choice prompts: token alignment of every minimal pair, option order, letters, sampling."""

from __future__ import annotations

import pytest

from core.data import load_dataset
from core.data.prompts import (
    aligned_instances,
    counterbalanced,
    event_text,
    letter_ids,
    sample_instances,
    scrambled,
    user_message,
)
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from core.models.loader import TOKENIZER_DONOR, embedded_dir

    return AutoTokenizer.from_pretrained(embedded_dir(TOKENIZER_DONOR))


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(ROOT / "data" / "dataset_expanded.json", ROOT / "data" / "scenarios.json")


def test_every_instance_is_token_aligned_under_the_embedded_tokenizer(tokenizer, dataset):
    pairs, skipped = aligned_instances(tokenizer, list(dataset.instances.values()))
    assert skipped == [] and len(pairs) == len(dataset.instances)
    for given, swapped in pairs.values():
        for p in (given, swapped):
            start, end = p.span
            assert p.clean_ids[:start] == p.corrupt_ids[:start] and p.clean_ids[end:] == p.corrupt_ids[end:]
            assert p.clean_ids[start] != p.corrupt_ids[start] and p.clean_ids[end - 1] != p.corrupt_ids[end - 1]
        assert given.prefix_len == swapped.prefix_len and given.sign == -swapped.sign


@pytest.mark.parametrize("alias", ["smollm2-135m", "gemma3-270m"])
def test_every_v3_instance_is_aligned_for_its_neutral_and_its_negative_event(alias):
    # the causal phases patch cue vs neutral position by position, and behaviour's control compares the cue
    # with the negative event: every v3 minimal pair fits both, under both embedded models' prompts
    from core.config import load_params
    from core.models.loader import load_tokenizer

    tok = load_tokenizer(load_params(ROOT / "params.yaml").model(alias))
    v3 = load_dataset(ROOT / "data" / "v3" / "dataset.json", ROOT / "data" / "v3" / "scenarios.json")
    for against in ("neutral", "negative"):
        pairs, skipped = aligned_instances(tok, list(v3.instances.values()), "letter", against)
        assert skipped == [] and len(pairs) == len(v3.instances) == 240, against


def test_a_scrambled_cue_is_its_own_words_in_another_seeded_order():
    cue = "Marta's voice cracks as she mentions her father's surgery."
    out = scrambled(cue, "phone_support_01")
    assert out != cue and out.endswith(".") and not out.endswith("..")
    assert sorted(out[:-1].split()) == sorted(cue[:-1].split())  # the same words: a bag of words sees no change
    assert out == scrambled(cue, "phone_support_01") and out != scrambled(cue, "phone_support_02")
    assert scrambled("Help!", "x") is None and scrambled("no no", "x") is None  # no other order exists


@pytest.mark.parametrize("alias", ["smollm2-135m", "gemma3-270m"])
def test_most_v3_scrambled_cues_are_token_aligned_with_their_cue(alias):
    # behaviour's words-only control needs the scramble in the corrupt slot at the cue's token count; a
    # scramble can lose alignment where a word's tokens depend on what precedes it (a capital, a comma)
    from core.config import load_params
    from core.models.loader import load_tokenizer

    tok = load_tokenizer(load_params(ROOT / "params.yaml").model(alias))
    v3 = load_dataset(ROOT / "data" / "v3" / "dataset.json", ROOT / "data" / "v3" / "scenarios.json")
    pairs, skipped = aligned_instances(tok, list(v3.instances.values()), "letter", "scrambled")
    assert len(pairs) >= 0.9 * len(v3.instances) and len(pairs) + len(skipped) == 240
    inst = v3.instances[next(iter(pairs))]
    assert event_text(inst, "scrambled") == scrambled(inst.minimal_pair.cue, inst.instance_id)


def test_an_instance_without_a_negative_event_is_skipped_for_that_control(tokenizer, dataset):
    v2 = list(dataset.instances.values())[:3]  # v2's minimal pairs have no negative event
    pairs, skipped = aligned_instances(tokenizer, v2, "letter", "negative")
    assert pairs == {} and skipped == [i.instance_id for i in v2]


def test_the_prompt_ends_with_the_generation_prompt(tokenizer, dataset):
    inst = next(iter(dataset.instances.values()))
    given, _ = counterbalanced(tokenizer, inst)
    text = tokenizer.decode(list(given.clean_ids))
    assert text.endswith("<|im_start|>assistant\n") and "Answer with A or B." in text
    assert inst.minimal_pair.cue in text


def test_options_follow_the_requested_order(dataset):
    inst = next(iter(dataset.instances.values()))
    fc = inst.forced_choice
    first = user_message(inst, "X", empathic_first=True)
    assert f"(A) {fc.empathic_option}" in first and f"(B) {fc.task_option}" in first
    second = user_message(inst, "X", empathic_first=False)
    assert f"(A) {fc.task_option}" in second and f"(B) {fc.empathic_option}" in second
    assert first.count(fc.question.strip()) == 1  # not repeated when the template already asks it


def test_letters_are_single_tokens(tokenizer):
    a, b = letter_ids(tokenizer)
    assert a != b and tokenizer.decode([a]) == "A" and tokenizer.decode([b]) == "B"


def test_sampling_is_seeded_and_per_family(dataset):
    instances = list(dataset.instances.values())
    one = sample_instances(instances, 2, seed=7)
    assert [i.instance_id for i in one] == [i.instance_id for i in sample_instances(instances, 2, seed=7)]
    families = {i.family for i in instances}
    assert len(one) == 2 * len(families) and {i.family for i in one} == families
    assert sample_instances(instances, 0, seed=7) == instances
    assert {i.instance_id for i in one} <= {i.instance_id for i in sample_instances(instances, 3, seed=7)}
