"""Splits hold whole families; the v0 split (kept for comparison) puts families on both sides."""

from __future__ import annotations

from pathlib import Path

from core.data import load_dataset
from core.data.splits import assign_splits

ROOT = Path(__file__).resolve().parents[3]


def test_family_split_never_puts_a_family_on_two_sides():
    ds = load_dataset(ROOT / "data" / "dataset_expanded.json", ROOT / "data" / "scenarios.json")
    sides: dict[str, set[str]] = {}
    for t, s in zip(ds.texts, assign_splits(ds.texts, "families"), strict=True):
        sides.setdefault(t.family, set()).add(s)
    assert all(len(v) == 1 for v in sides.values())
    assert {s for v in sides.values() for s in v} == {"train", "validation", "test"}


def test_v0_split_is_seeded_pairwise_and_leaks_families():
    ds = load_dataset(ROOT / "data" / "dataset_expanded.json", ROOT / "data" / "scenarios.json")
    splits = assign_splits(ds.texts, "v0_random_pairs")
    assert splits == assign_splits(ds.texts, "v0_random_pairs")
    pair_side = {}
    for t, s in zip(ds.texts, splits, strict=True):
        assert pair_side.setdefault((t.instance_id, t.task), s) == s  # both texts of a pair together
    both = {t.family for t, s in zip(ds.texts, splits, strict=True) if s == "train"} & \
        {t.family for t, s in zip(ds.texts, splits, strict=True) if s == "test"}
    assert len(both) >= 10
    assert 0.65 < splits.count("train") / len(splits) < 0.75
