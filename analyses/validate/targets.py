"""validate_targets: every target of the dataset's design as one row (target, value, rule, pass).

Method. Structural targets are counts and shares over the loaded dataset (empathy pairs are the
2x2 design's pairs matched on task outcome, plus task-free pairs). Surface targets are the surface
battery (core.stats.surface) fit on the TRAIN families' texts and scored on the TEST families' texts
(every text once, label = empathic), with an instance-clustered 95% CI; the matched subset is the
test texts of instances written as minimal edits. "Leaning n-grams" are 1-3 word sequences with at
least one function word (sklearn's English stop words) and no lexicon word (the lexicon has its own
targets), found in >= `LEANING_MIN_TEXTS` texts with a class ratio above 5:1: v2's giveaways ("I
decide", "and ask", "tells me") were of this kind. Two rules are checked by reading, not here: that
the empathic option never includes the task action, and that negative events leave nobody in need.
A dataset without v3's annotations (v2) gets NaN for those targets, and they fail.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from core.data import Dataset
from core.data.lexicon import Lexicon
from core.data.textchecks import length_gap, sentiment, word_count, words
from core.stats.estimates import auroc, cluster_bootstrap_auroc
from core.stats.surface import pronoun_count, surface_scores

EMPATHY_KINDS = ("empathy_task_completed", "empathy_task_abandoned", "empathy_task_free")
VICE = frozenset({"lied", "blame", "blamed", "blames", "cheat", "cheated", "stole", "selfish", "rude", "mocked",
                  "lazy"})  # unambiguous forms only ("lies", "lying", "mock" have innocent senses)
DECIDE = frozenset({"decide", "decides", "decided", "deciding", "decision"})
CAUSES = ("external event", "honest misjudgement", "running out of time")
LEANING_MIN_TEXTS = 10
Row = tuple[str, str, float, str, bool, int]


def _rule(lo: float | None = None, hi: float | None = None) -> tuple[str, Callable[[float], bool]]:
    text = (f"{lo:g}-{hi:g}" if lo is not None and hi is not None else f">= {lo:g}" if lo is not None
            else f"<= {hi:g}")
    return text, lambda v: bool(np.isfinite(v) and (lo is None or v >= lo) and (hi is None or v <= hi))


def _row(section: str, target: str, value: float, n: int, lo: float | None = None, hi: float | None = None) -> Row:
    text, ok = _rule(lo, hi)
    return section, target, float(value), text, ok(float(value)), n


def _empathy_pairs(ds: Dataset) -> list:
    return [p for p in ds.pairs if p.kind in EMPATHY_KINDS]


def scale_rows(ds: Dataset) -> list[Row]:
    """Families, 2x2 empathy pairs, and what each split holds."""
    task_fams = {f.id: f for f in ds.families.values() if not f.task_free}
    used = {t.family for t in ds.texts}
    pairs = _empathy_pairs(ds)
    split_of = {f: ds.families[f].split for f in used}
    free_splits = {split_of[f] for f in used if ds.families[f].task_free}
    return [_row("scale", "families", len(used), len(used), lo=20),
            _row("scale", "empathy_pairs_2x2", sum(p.kind != "empathy_task_free" for p in pairs), len(pairs), lo=400),
            _row("scale", "splits_with_task_free_family", len(free_splits), len(used), lo=3),
            _row("scale", "test_task_families", sum(split_of[f] == "test" for f in used if f in task_fams), len(used),
                 lo=5),
            _row("scale", "test_empathy_pairs", sum(p.split == "test" for p in pairs), len(pairs), lo=100),
            _row("scale", "validation_families", sum(split_of[f] == "validation" for f in used), len(used), lo=3)]


def _jaccard(a: str, b: str) -> float:
    x, y = set(words(a)), set(words(b))
    return len(x & y) / len(x | y) if x | y else 1.0


def lexical_rows(ds: Dataset, lexicon: Lexicon) -> list[Row]:
    """Pronoun balance, the matched subset, lexical crossing and its spread."""
    pairs = _empathy_pairs(ds)
    n = len(pairs)
    pron = [abs(pronoun_count(p.positive.text) - pronoun_count(p.negative.text)) <= 1 for p in pairs]
    matched = [p for p in pairs if ds.instances[p.instance_id].matched]
    crossed = [p for p in pairs if not lexicon.count(p.positive.text) and lexicon.count(p.negative.text)]
    hits = Counter(w for p in crossed for w in set(lexicon.find(p.negative.text)))
    top = max(hits.values()) / sum(hits.values()) if hits else float("nan")
    length_ok = [length_gap(word_count(p.positive.text), word_count(p.negative.text)) <= 0.15 for p in pairs]
    in_range = [60 <= word_count(t.text) <= 150 for t in ds.texts]
    shared = min((_jaccard(p.positive.text, p.negative.text) for p in matched), default=float("nan"))
    return [_row("lexical", "pronoun_within_1_share", float(np.mean(pron)), n, lo=1.0),
            _row("lexical", "matched_pairs", len(matched), n, lo=120),
            _row("lexical", "matched_min_shared_types", shared, len(matched), lo=0.70),
            _row("lexical", "crossing_share", len(crossed) / n, n, lo=0.25, hi=0.35),
            _row("lexical", "crossing_top_word_share", top, sum(hits.values()), hi=0.20),
            _row("length", "pairs_within_15pct_share", float(np.mean(length_ok)), n, lo=1.0),
            _row("length", "texts_60_150_words_share", float(np.mean(in_range)), len(in_range), lo=1.0)]


def leaning_ngrams(texts: list[str], labels: list[bool], lexicon: Lexicon) -> list[tuple[str, int, int]]:
    """(n-gram, empathic texts, other texts) for every non-content 1-3-gram leaning > 5:1 in >= 10 texts."""
    counts: dict[bool, Counter[tuple[str, ...]]] = {True: Counter(), False: Counter()}
    for text, label in zip(texts, labels, strict=True):
        ws = words(text)
        counts[label].update({tuple(ws[i:i + n]) for n in (1, 2, 3) for i in range(len(ws) - n + 1)})
    out = []
    for gram in set(counts[True]) | set(counts[False]):
        a, b = counts[True][gram], counts[False][gram]
        if a + b < LEANING_MIN_TEXTS or max(a, b) <= 5 * min(a, b):
            continue
        if any(w in ENGLISH_STOP_WORDS for w in gram) and not any(w in lexicon.words for w in gram):
            out.append((" ".join(gram), a, b))
    return sorted(out, key=lambda r: -(r[1] + r[2]))


def task_rows(ds: Dataset, lexicon: Lexicon) -> list[Row]:
    """'decide' per cell, vice words, balanced abandonment causes, leaning n-grams."""
    cells: dict[tuple[bool, str], list[bool]] = {}
    for t in ds.texts:
        cells.setdefault((t.empathic, t.task), []).append(bool(DECIDE & set(words(t.text))))
    decide = max(float(np.mean(v)) for v in cells.values())
    vice = sum(bool(VICE & set(words(t.text))) for t in ds.texts)
    insts = [i for i in ds.instances.values() if not ds.families[i.family].task_free]
    causes = Counter(i.abandon_cause for i in insts)
    balance = min(causes.get(c, 0) for c in CAUSES) / len(insts) if insts and None not in causes else float("nan")
    lean = leaning_ngrams([t.text for t in ds.texts], [t.empathic for t in ds.texts], lexicon)
    return [_row("task", "decide_share_max_cell", decide, len(ds.texts), hi=0.10),
            _row("task", "texts_with_vice_words", vice, len(ds.texts), hi=0),
            _row("task", "abandon_cause_min_share", balance, len(insts), lo=0.25),
            _row("task", "leaning_non_content_ngrams", len(lean), len(ds.texts), hi=0)]


def _cue_only(cue: str, neutral: str) -> set[str]:
    return {w for w in words(cue) if w not in ENGLISH_STOP_WORDS} - set(words(neutral))


def choice_rows(ds: Dataset) -> list[Row]:
    """Minimal pairs (valence, third condition, cue spread, no presupposing options) and forced choice."""
    insts = list(ds.instances.values())
    n = len(insts)
    neutral = max(abs(sentiment(i.minimal_pair.neutral)) for i in insts)
    negative = sum(i.minimal_pair.negative is not None for i in insts) / n
    presuppose = 0
    cue_words: Counter[str] = Counter()
    for i in insts:
        only = _cue_only(i.minimal_pair.cue, i.minimal_pair.neutral)
        cue_words.update(only)
        fc = i.forced_choice
        presuppose += bool(only & set(words(f"{fc.question} {fc.empathic_option} {fc.task_option}")))
    first = [i.forced_choice.empathic_first for i in insts]
    parity = [i.forced_choice.empathic_first == (int(i.instance_id.rsplit("_", 1)[-1]) % 2 == 1)
              for i in insts if i.instance_id.rsplit("_", 1)[-1].isdigit()]
    within = [abs(word_count(i.forced_choice.empathic_option) - word_count(i.forced_choice.task_option)) <= 2
              for i in insts]
    return [_row("minimal_pair", "neutral_event_max_abs_vader", neutral, n, hi=0.05),
            _row("minimal_pair", "negative_condition_share", negative, n, lo=1.0),
            _row("minimal_pair", "options_presupposing_cue", presuppose, n, hi=0),
            _row("minimal_pair", "cue_top_word_share", max(cue_words.values()) / n if cue_words else 0.0, n, hi=0.10),
            _row("forced_choice", "empathic_first_share", float(np.mean(first)), n, lo=0.4, hi=0.6),
            _row("forced_choice", "order_matches_id_parity_share", float(np.mean(parity)) if parity else float("nan"),
                 len(parity), lo=0.3, hi=0.7),
            _row("forced_choice", "options_within_2_words_share", float(np.mean(within)), n, lo=1.0)]


def steering_rows(ds: Dataset) -> list[Row]:
    """Task-conflict prompts beside the task-free ones, each kind in every split."""
    sps = ds.steering_prompts
    split = {sp.prompt_id: ds.families[sp.family].split for sp in sps if sp.family is not None}
    conflict = [sp for sp in sps if sp.task_conflict]
    free = [sp for sp in sps if not sp.task_conflict]
    def splits(group: list) -> int:
        return len({split.get(sp.prompt_id) for sp in group} - {None})

    return [_row("steering", "task_conflict_prompts", len(conflict), len(sps), lo=24),
            _row("steering", "splits_with_task_conflict_prompts", splits(conflict), len(conflict), lo=3),
            _row("steering", "splits_with_task_free_prompts", splits(free), len(free), lo=3)]


def provenance_rows(ds: Dataset) -> list[Row]:
    """Every text says who wrote it, under which rules, when; and a share is in the deliberative register."""
    known = [bool(t.rules and t.written) for t in ds.texts]
    deliberative = [" i would " in f" {' '.join(words(t.text))} " for t in ds.texts]
    return [_row("provenance", "texts_with_provenance_share", float(np.mean(known)), len(known), lo=1.0),
            _row("register", "deliberative_share", float(np.mean(deliberative)), len(deliberative), lo=0.2)]


def surface_rows(ds: Dataset, lexicon: Lexicon, n_boot: int, seed: int) -> pd.DataFrame:
    """The surface battery's test AUROCs (train-fit) against the targets, with clustered CIs."""
    texts = [t.text for t in ds.texts]
    y = np.array([t.empathic for t in ds.texts])
    splits = [t.split for t in ds.texts]
    inst = np.array([t.instance_id for t in ds.texts])
    test = np.array([s == "test" for s in splits])
    matched = test & np.array([ds.instances[t.instance_id].matched for t in ds.texts])
    names = ["bow_tfidf", "bow_tfidf_no_lexicon", "pronoun_count", "length", "lexicon_count"]
    scores = surface_scores(texts, y, splits, lexicon, names, seed=seed)
    specs = [("bow_no_lexicon_test_auroc", "bow_tfidf_no_lexicon", test, None, 0.80),
             ("pronoun_count_test_auroc", "pronoun_count", test, 0.40, 0.60),
             ("length_test_auroc", "length", test, 0.40, 0.60),
             ("lexicon_count_test_auroc", "lexicon_count", test, 0.40, 0.60),
             ("bow_matched_test_auroc", "bow_tfidf", matched, None, 0.65),
             ("bow_no_lexicon_matched_test_auroc", "bow_tfidf_no_lexicon", matched, None, 0.65)]
    rows = []
    for target, name, mask, lo, hi in specs:
        has_both = mask.any() and len(set(y[mask])) == 2
        value = auroc(scores[name][mask], y[mask]) if has_both else float("nan")
        ci = (cluster_bootstrap_auroc(scores[name][mask], y[mask], inst[mask], n_boot, seed) if has_both
              else (np.nan, np.nan))
        section, tgt, val, rule, ok, n = _row("surface", target, value, int(mask.sum()), lo, hi)
        rows.append({"section": section, "target": tgt, "value": val, "ci_low": ci[0], "ci_high": ci[1],
                     "rule": rule, "pass": ok, "n": n})
    return pd.DataFrame(rows)


def targets_table(ds: Dataset, lexicon: Lexicon, n_boot: int, seed: int) -> pd.DataFrame:
    """validate_targets: one row per target (section, target, value, CI for AUROCs, rule, pass, n)."""
    rows = (scale_rows(ds) + lexical_rows(ds, lexicon) + task_rows(ds, lexicon) + choice_rows(ds)
            + steering_rows(ds) + provenance_rows(ds))
    structural = pd.DataFrame(rows, columns=["section", "target", "value", "rule", "pass", "n"])
    structural["ci_low"] = structural["ci_high"] = np.nan
    table = pd.concat([structural, surface_rows(ds, lexicon, n_boot, seed)], ignore_index=True)
    return table[["section", "target", "value", "ci_low", "ci_high", "rule", "pass", "n"]]
