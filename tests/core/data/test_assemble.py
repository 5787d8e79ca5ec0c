"""Assembling a revision from family parts: seeded, balanced option order; provenance; a loadable file."""

from __future__ import annotations

import json

from core.data import load_dataset
from core.data.assemble import option_order, write_revision


def test_option_order_is_balanced_seeded_and_not_the_id_parity():
    ids = [f"fam_{i:02d}" for i in range(1, 11)]
    order = option_order(ids, seed=7)
    assert sum(order.values()) == 5 and order == option_order(list(reversed(ids)), seed=7)
    orders = [option_order(ids, seed=s) for s in range(20)]
    assert len({tuple(o.values()) for o in orders}) > 10  # the seed, not the ids, decides
    parity = [o[i] == (int(i[-2:]) % 2 == 1) for o in orders for i in ids]
    assert 0.3 < sum(parity) / len(parity) < 0.7


def _part(fam: str, split: str) -> dict:
    text = " ".join(["word"] * 70)
    inst = {"instance_id": f"{fam}_01", "family": fam, "situation": "You are here.",
            "forced_choice": {"question": "What now?", "empathic_option": "Go to Ana.", "task_option": "Go on.",
                              "empathic_first": True},
            "minimal_pair": {"template": "You see {event}.", "cue": "a", "neutral": "b", "negative": "c"}}
    texts = [{"text_id": f"{fam}_01:{c}", "instance_id": f"{fam}_01", "empathic": c.startswith("emp"), "task": "none",
              "text": text} for c in ("empathic_none", "indifferent_none")]
    family = {"id": fam, "title": "t", "description": "d", "objective": "o", "empathy_pressure": "p",
              "rubric": {"0": "a", "1": "b", "2": "c"}, "task_free": True, "split": split}
    return {"family": family, "instances": [inst], "texts": texts,
            "steering_prompts": [{"prompt_id": f"{fam}_steer_1", "family": fam, "task_conflict": False,
                                  "text": "You pass someone. What do you do?"}]}


def test_write_revision_adds_provenance_and_loads(tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    for fam, split in (("a", "train"), ("b", "test")):
        (parts / f"{fam}.json").write_text(json.dumps(_part(fam, split)), encoding="utf-8")
    plan = {"families": {"a": {"instances": [{"instance_id": "a_01", "matched": True}]}, "b": {"instances": []}}}
    (tmp_path / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    path = write_revision(parts, tmp_path / "plan.json", tmp_path / "out", seed=1, rules="r1", written="2026-12-01")
    ds = load_dataset(path, tmp_path / "out" / "scenarios.json")
    assert sorted(ds.families) == ["a", "b"] and ds.instances["a_01"].matched and not ds.instances["b_01"].matched
    assert all(t.rules == "r1" and t.written == "2026-12-01" for t in ds.texts)
    assert [sp.family for sp in ds.steering_prompts] == ["a", "b"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dataset.json", "scenarios.json"]
