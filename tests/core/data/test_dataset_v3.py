"""Dataset v3 meets its design targets (docs/dataset-v3-rules.md), family by family.

Every structural target of validate_targets is pinned here per family, so a family that drifts
fails by name; the surface targets (measured on the test families) are pinned once at the end.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest

from analyses.validate.targets import DECIDE, VICE, _cue_only, _jaccard, leaning_ngrams, targets_table
from core.data import load_dataset
from core.data.lexicon import Lexicon
from core.data.loader import load_families
from core.data.textchecks import format_markers, length_gap, sentiment, word_count, words
from core.stats.surface import pronoun_count
from tests.conftest import ROOT

DATA = ROOT / "data"
LEXICON = Lexicon.load(DATA / "lexicon.json")


@pytest.fixture(scope="module")
def ds():
    return load_dataset(DATA / "v3" / "dataset.json", DATA / "v3" / "scenarios.json")


def _empathy_pairs(ds, fam):
    return [p for p in ds.pairs if p.family == fam and p.kind.startswith("empathy")]


def test_scale_and_splits(ds):
    fams = ds.families.values()
    task_free_splits = {f.split for f in fams if f.task_free}
    assert len(ds.families) >= 20 and task_free_splits == {"train", "validation", "test"}
    assert sum(f.split == "test" and not f.task_free for f in fams) >= 5
    assert sum(f.split == "validation" for f in fams) >= 3
    kinds = Counter(p.kind for p in ds.pairs)
    assert kinds["empathy_task_completed"] + kinds["empathy_task_abandoned"] >= 400
    assert sum(p.split == "test" for p in ds.pairs if p.kind.startswith("empathy")) >= 100


@pytest.mark.parametrize("fam", sorted(load_families(DATA / "v3" / "scenarios.json")))  # ids only at collection
def test_family_meets_the_rules(ds, fam):
    pairs = _empathy_pairs(ds, fam)
    insts = [i for i in ds.instances.values() if i.family == fam]
    texts = [t for t in ds.texts if t.family == fam]
    task_free = ds.families[fam].task_free
    cells = defaultdict(set)
    for t in texts:
        cells[t.instance_id].add((t.empathic, t.task))
    want = {(True, "none"), (False, "none")} if task_free else {(e, k) for e in (True, False)
                                                                 for k in ("completed", "abandoned")}
    assert len(insts) == 10 and all(cells[i.instance_id] == want for i in insts)
    # lengths: 60-150 words, pairs within 15%, neither side systematically longer
    assert all(60 <= word_count(t.text) <= 150 and not format_markers(t.text) for t in texts)
    assert all(length_gap(word_count(p.positive.text), word_count(p.negative.text)) <= 0.15 for p in pairs)
    longer = np.mean([word_count(p.positive.text) > word_count(p.negative.text) for p in pairs])
    assert 0.3 <= longer <= 0.7
    # lexical control: pronouns within 1, the matched subset, crossing 25-35% of the family's pairs
    assert all(abs(pronoun_count(p.positive.text) - pronoun_count(p.negative.text)) <= 1 for p in pairs)
    matched = [p for p in pairs if ds.instances[p.instance_id].matched]
    assert len(matched) >= 4 and all(_jaccard(p.positive.text, p.negative.text) >= 0.70 for p in matched)
    crossed = [p for p in pairs if not LEXICON.count(p.positive.text) and LEXICON.count(p.negative.text)]
    assert 0.25 <= len(crossed) / len(pairs) <= 0.35
    # task factor: no "decide", no vice words; balanced abandonment causes
    assert not any((DECIDE | VICE) & set(words(t.text)) for t in texts)
    if not task_free:
        assert set(Counter(i.abandon_cause for i in insts).values()) <= {3, 4}
    # minimal pairs and forced choice
    for i in insts:
        mp, fc = i.minimal_pair, i.forced_choice
        assert abs(sentiment(mp.neutral)) <= 0.05 and mp.negative, i.instance_id
        assert abs(word_count(fc.empathic_option) - word_count(fc.task_option)) <= 2, i.instance_id
        assert not _cue_only(mp.cue, mp.neutral) & set(words(f"{fc.question} {fc.empathic_option} {fc.task_option}"))
    assert sum(i.forced_choice.empathic_first for i in insts) == 5
    # steering prompts and provenance
    prompts = [sp for sp in ds.steering_prompts if sp.family == fam]
    assert len(prompts) == (8 if task_free else 2) and all(sp.task_conflict != task_free for sp in prompts)
    assert all(t.rules == "v3-rules-1" and t.written and t.source == "authored" for t in texts)


def test_no_leaning_function_word_ngrams(ds):
    """v2's giveaways were function-word n-grams on one side ("I decide", "and ask", "tells me")."""
    assert leaning_ngrams([t.text for t in ds.texts], [t.empathic for t in ds.texts], LEXICON) == []


def test_every_target_passes(ds):
    table = targets_table(ds, LEXICON, n_boot=200, seed=0)
    failed = table[~table["pass"]]
    assert failed.empty, failed[["target", "value", "rule"]].to_string()
