"""The shipped dataset meets every count and constraint of issue 3 (DESIGN §4)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import numpy as np
import pytest

from core.data import load_dataset
from core.data.lexicon import Lexicon
from core.data.textchecks import shares_ngram_other, word_count
from core.stats.estimates import auroc
from tests.conftest import ROOT

DATA = ROOT / "data"
NAMED = {"food_delivery", "the_listener", "the_maze", "the_protector", "the_duel", "medical_triage",
         "resource_allocation", "emergency_response", "weak_conflict", "task_free"}


@pytest.fixture(scope="module")
def ds():
    return load_dataset(DATA / "dataset_expanded.json", DATA / "scenarios.json")


def test_families(ds):
    assert len(ds.families) >= 12 and set(ds.families) >= NAMED
    assert ds.families["task_free"].task_free


def test_task_instances_have_all_four_cells_and_counts(ds):
    cells = defaultdict(set)
    for t in ds.texts:
        cells[t.instance_id].add((t.empathic, t.task))
    task_instances = [i for i in ds.instances.values() if not ds.families[i.family].task_free]
    four = {(e, t) for e in (True, False) for t in ("completed", "abandoned")}
    assert len(task_instances) >= 100 and all(cells[i.instance_id] == four for i in task_instances)
    free = [i for i in ds.instances.values() if ds.families[i.family].task_free]
    assert free and all(cells[i.instance_id] == {(True, "none"), (False, "none")} for i in free)
    kinds = Counter(p.kind for p in ds.pairs)
    assert kinds["empathy_task_completed"] + kinds["empathy_task_abandoned"] >= 200
    assert kinds["task_empathic"] + kinds["task_not_empathic"] >= 200
    assert kinds["empathy_task_free"] == len(free)


def test_word_ranges_and_pair_lengths(ds):
    assert all(60 <= word_count(t.text) <= 150 for t in ds.texts)
    for p in ds.pairs:
        a, b = word_count(p.positive.text), word_count(p.negative.text)
        assert abs(a - b) <= 0.15 * min(a, b), p.pair_id


def test_length_does_not_predict_the_class(ds):
    """v0 flaw 2: within each family the empathic text is the longer one in only about half the pairs."""
    by_family = defaultdict(list)
    for p in ds.pairs:
        if p.kind.startswith("empathy"):
            by_family[p.family].append(word_count(p.positive.text) - word_count(p.negative.text))
    for fam, diffs in by_family.items():
        longer = sum(d > 0 for d in diffs) / len(diffs)
        assert 0.35 <= longer <= 0.65 and abs(sum(diffs) / len(diffs)) <= 2.0, fam
    lengths = np.array([word_count(t.text) for t in ds.texts], dtype=float)
    assert 0.4 <= auroc(lengths, np.array([t.empathic for t in ds.texts])) <= 0.6


def test_plain_text_and_lexical_crossing(ds):
    assert not any(marker in t.text for t in ds.texts for marker in ("**", "\n-", "\n*", "#", "`"))
    lex = Lexicon.load(DATA / "lexicon.json")
    empathy = [p for p in ds.pairs if p.kind.startswith("empathy")]
    crossed = [p for p in empathy if lex.count(p.positive.text) == 0 and lex.count(p.negative.text) > 0]
    assert len(crossed) / len(empathy) >= 0.25


def test_texts_are_not_stamped_from_templates(ds):
    shared = shares_ngram_other([t.text for t in ds.texts], [t.instance_id for t in ds.texts], n=8)
    assert sum(shared) / len(shared) < 0.05


def test_forced_choice_order_is_counterbalanced(ds):
    firsts = Counter(i.forced_choice.empathic_first for i in ds.instances.values())
    assert abs(firsts[True] - firsts[False]) <= 1
    for fam in ds.families:  # and within each family, not just overall
        f = Counter(i.forced_choice.empathic_first for i in ds.instances.values() if i.family == fam)
        assert abs(f[True] - f[False]) <= max(1, sum(f.values()) // 3), fam


def test_minimal_pairs_are_token_aligned_and_differ_only_in_the_slot(ds):
    from transformers import AutoTokenizer

    from core.config import load_params
    from core.models.loader import embedded_dir

    tok = AutoTokenizer.from_pretrained(embedded_dir(load_params(ROOT / "params.yaml").model("smollm2-135m")))
    for inst in ds.instances.values():
        mp = inst.minimal_pair
        start = mp.template.index("{event}")
        encs = []
        for event in (mp.cue, mp.neutral):
            text = mp.template.replace("{event}", event)
            enc = tok(text, return_offsets_mapping=True, add_special_tokens=False)
            encs.append((enc["input_ids"], enc["offset_mapping"], start + len(event)))
        (ids_a, off_a, end_a), (ids_b, off_b, end_b) = encs
        assert len(ids_a) == len(ids_b), inst.instance_id
        differ = [i for i, (x, y) in enumerate(zip(ids_a, ids_b, strict=True)) if x != y]
        assert differ, inst.instance_id
        for i in differ:  # every differing token lies inside the slot in both texts
            assert off_a[i][0] >= start - 1 and off_a[i][1] <= end_a + 1, inst.instance_id
            assert off_b[i][0] >= start - 1 and off_b[i][1] <= end_b + 1, inst.instance_id


def test_steering_prompts(ds):
    assert len(ds.steering_prompts) >= 24
    assert len({p.text for p in ds.steering_prompts}) == len(ds.steering_prompts)


def test_split_holds_whole_families(ds):
    sides = defaultdict(set)
    for p in ds.pairs:
        sides[p.family].add(p.split)
    assert all(len(s) == 1 for s in sides.values())
    assert {p.split for p in ds.pairs} == {"train", "validation", "test"}


def test_provenance_on_every_text():
    raw = json.loads((DATA / "dataset_expanded.json").read_text())
    for t in raw["texts"]:
        assert t["source"] and t["prompt_template"], t["text_id"]
        if t["source"] != "authored":
            assert t["temperature"] is not None and t["seed"] is not None, t["text_id"]
