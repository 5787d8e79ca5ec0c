"""Assemble a dataset revision from per-family part files (how v3 was built: docs/dataset-v3-rules.md).

Each part holds one family: its definition, instances, texts and steering prompts, written to the
rules. Assembly adds what no writer should choose: the forced-choice option order, from a seeded
shuffle balanced within each family (v2's order followed id parity), and each text's provenance
(rules revision, date). It also carries the writing plan's per-instance facts (matched subset,
abandonment cause). The output is checked by the same loader as every dataset before it is written.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from core.data.loader import load_dataset

FORMAT = "eia-probes/v1"


def option_order(instance_ids: Sequence[str], seed: int) -> dict[str, bool]:
    """instance id -> empathic_first: half of a family's instances each way (one more True when odd),
    assigned by a seeded shuffle of the sorted ids, so the order is independent of the ids."""
    ids = sorted(instance_ids)
    flags = [i % 2 == 0 for i in range(len(ids))]
    random.Random(f"{seed}:{','.join(ids)}").shuffle(flags)
    return dict(zip(ids, flags, strict=True))


def _instance(inst: Mapping[str, Any], plan: Mapping[str, Any], first: bool) -> dict[str, Any]:
    out = dict(inst)
    out["forced_choice"] = {**inst["forced_choice"], "empathic_first": first}
    out["matched"] = bool(plan.get("matched", False))
    if plan.get("abandon_cause"):
        out["abandon_cause"] = plan["abandon_cause"]
    return out


def assemble(parts: Sequence[Mapping[str, Any]], plan: Mapping[str, Mapping[str, Any]], seed: int,
             rules: str, written: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(dataset, scenarios) documents from family parts; `plan` maps instance id -> its planned facts."""
    families, instances, texts, prompts = [], [], [], []
    for part in sorted(parts, key=lambda p: p["family"]["id"]):
        families.append(part["family"])
        order = option_order([i["instance_id"] for i in part["instances"]], seed)
        instances += [_instance(i, plan.get(i["instance_id"], {}), order[i["instance_id"]])
                      for i in sorted(part["instances"], key=lambda i: i["instance_id"])]
        texts += [{**t, "source": "authored", "prompt_template": "authored", "rules": rules, "written": written}
                  for t in sorted(part["texts"], key=lambda t: t["text_id"])]
        prompts += sorted(part.get("steering_prompts", []), key=lambda p: p["prompt_id"])
    dataset = {"format": FORMAT, "instances": instances, "texts": texts, "steering_prompts": prompts}
    return dataset, {"families": families}


def _dump(doc: Mapping[str, Any], key_lists: Sequence[str]) -> str:
    """One record per line (the loader names the line of a bad record), lists in file order."""
    lines = ["{"]
    scalars = [k for k in doc if k not in key_lists]
    for k in scalars:
        lines.append(f"  {json.dumps(k)}: {json.dumps(doc[k], ensure_ascii=False)},")
    for n, k in enumerate(key_lists):
        rows = [f"    {json.dumps(r, ensure_ascii=False)}" for r in doc[k]]
        tail = "" if n == len(key_lists) - 1 else ","
        lines.append(f"  {json.dumps(k)}: [\n" + ",\n".join(rows) + f"\n  ]{tail}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_revision(parts_dir: Path, plan_file: Path, out_dir: Path, seed: int, rules: str, written: str) -> Path:
    """Assemble parts_dir/*.json into out_dir/{dataset,scenarios}.json, loading both back before keeping them."""
    parts = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(parts_dir.glob("*.json"))]
    plan = {i["instance_id"]: i for f in json.loads(plan_file.read_text(encoding="utf-8"))["families"].values()
            for i in f["instances"]}
    dataset, scenarios = assemble(parts, plan, seed, rules, written)
    out_dir.mkdir(parents=True, exist_ok=True)
    # temporary names that keep the .json extension (the loader chooses the format by extension)
    tmp_d, tmp_s = out_dir / "dataset.tmp.json", out_dir / "scenarios.tmp.json"
    tmp_d.write_text(_dump(dataset, ["instances", "texts", "steering_prompts"]), encoding="utf-8")
    tmp_s.write_text(_dump(scenarios, ["families"]), encoding="utf-8")
    try:
        load_dataset(tmp_d, tmp_s)
    except Exception:
        tmp_d.unlink()
        tmp_s.unlink()
        raise
    tmp_d.rename(out_dir / "dataset.json")
    tmp_s.rename(out_dir / "scenarios.json")
    return out_dir / "dataset.json"
