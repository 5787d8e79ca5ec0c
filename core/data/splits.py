"""Split assignment: whole scenario families (v1), or v0's random pair split (for comparison only)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from core.data import Text


def assign_splits(texts: list[Text], mode: str, seed: int = 42, train_frac: float = 0.7) -> list[str]:
    """The split of each text.

    `families`: the family's split from data/scenarios.json (held-out families, never random pairs).
    `v0_random_pairs`: v0's method — empathy pairs shuffled with random.seed(42) and cut 70/30, so
    every family sits on both sides (its leak, flaw 1); there is no validation split, so validation
    is the test split, as in v0.
    """
    if mode == "families":
        return [t.split for t in texts]
    groups = sorted({(t.instance_id, t.task) for t in texts})  # one empathy pair per (instance, task)
    random.Random(seed).shuffle(groups)
    train = set(groups[: int(len(groups) * train_frac)])
    return ["train" if (t.instance_id, t.task) in train else "test" for t in texts]


@dataclass(frozen=True)
class SplitNeed:
    """What a phase needs of the dataset's splits (checked by the harness before any compute): under `mode`,
    each group of splits must hold texts of both classes (a group of several: their texts together)."""

    mode: str
    groups: tuple[tuple[str, ...], ...]
    why: str
    fatal: bool = True  # False: a warning (extract, whose cache only later phases split)


def probe_split_need(split: str, select_on: str) -> SplitNeed:
    """The probes phase's need (extract warns with it too): train fits, `select_on` picks the layer, test scores."""
    return SplitNeed(split, (("train",), (select_on,), ("test",)),
                     f"train texts to fit the probes, {select_on} texts to choose the layer and test texts to score it")


ADVICE = ("to score this file with probes trained on our train families, run `python -m analyses probes --eval "
          "FILE`; to train and test on it, use a pair-level split such as the v0 profile's (`--profile v0`, or "
          "`--set probes.split=v0_random_pairs --set probes.select_on=test`)")


def split_problems(texts: list[Text], need: SplitNeed) -> list[str]:
    """One line per group of `need` that lacks texts of either class (empty when the dataset fits)."""
    splits = assign_splits(texts, need.mode)
    problems = []
    for group in need.groups:
        labels = {t.empathic for t, s in zip(texts, splits, strict=True) if s in group}
        if labels != {True, False}:
            have = "no texts" if not labels else ("only empathic texts" if True in labels else
                                                  "only non-empathic texts")
            problems.append(f"the {' or '.join(group)} split has {have}")
    return problems


def families_by_split(texts: list[Text], mode: str) -> str:
    """'train: a, b; validation: c' — which families fall in which split under `mode`."""
    found: dict[str, set[str]] = {}
    for t, s in zip(texts, assign_splits(texts, mode), strict=True):
        found.setdefault(s, set()).add(t.family)
    return "; ".join(f"{s}: {', '.join(sorted(found[s]))}" for s in ("train", "validation", "test") if s in found)
