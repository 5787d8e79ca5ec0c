"""Split assignment: whole scenario families (v1), or v0's random pair split (for comparison only)."""

from __future__ import annotations

import random

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
