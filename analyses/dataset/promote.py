"""Promote generated pairs into a new version of the dataset file under data/ (DESIGN §4, P8).

This is the one command that writes under data/, and only when a person asks for it. A generated
instance becomes a new instance (a copy of its source instance under the generated id, so its
forced-choice and minimal-pair prompts come along) holding the texts of its accepted pairs, each
with its provenance (source = generator model id @ revision, temperature, seed, prompt template).
The new file is written beside the current one as <name>_v<N>.json, checked by the same loader as
every dataset, and only then renamed into place; instances promoted before are not added twice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.loader import load_dataset
from core.errors import InputError

SECTIONS = ("instances", "texts", "steering_prompts")


@dataclass(frozen=True)
class Promoted:
    path: Path
    n_instances: int
    n_texts: int
    n_skipped: int


def next_version(current: Path) -> Path:
    """data/x.json or data/x_v3.json -> the first free data/x_v<N>.json (N >= 2)."""
    stem = re.sub(r"_v\d+$", "", current.stem)
    n = 2
    while (current.parent / f"{stem}_v{n}.json").exists():
        n += 1
    return current.parent / f"{stem}_v{n}.json"


def dump(top: dict[str, Any]) -> str:
    """Our file layout: one record per line inside each top-level array (errors can name a line)."""
    lines = ["{", f' "format": {json.dumps(top["format"])},']
    for n, key in enumerate(SECTIONS):
        rows = top.get(key, [])
        lines.append(f' "{key}": [')
        lines += [f"  {json.dumps(r, ensure_ascii=False)}{',' if i < len(rows) - 1 else ''}"
                  for i, r in enumerate(rows)]
        lines.append(" ]" + ("," if n < len(SECTIONS) - 1 else ""))
    return "\n".join(lines + ["}"]) + "\n"


def _text_record(row: Any) -> dict[str, Any]:
    return {"text_id": row.text_id, "instance_id": row.instance_id, "empathic": bool(row.empathic), "task": row.task,
            "text": row.text, "source": row.source, "temperature": float(row.temperature), "seed": int(row.seed),
            "prompt_template": row.prompt_template}


def merge(base: dict[str, Any], texts: pd.DataFrame, pairs: pd.DataFrame) -> tuple[dict[str, Any], int, int]:
    """Base file content plus the instances and texts of `pairs`; returns (content, added, skipped)."""
    instances = {i["instance_id"]: i for i in base["instances"]}
    keep = set(pairs.text_id_a) | set(pairs.text_id_b)
    chosen = texts[texts.text_id.isin(keep)]
    fresh = [g for g in dict.fromkeys(chosen.instance_id) if g not in instances]
    out = {**base, "instances": list(base["instances"]), "texts": list(base["texts"])}
    for gid in fresh:
        first = chosen[chosen.instance_id == gid].iloc[0]
        if first.source_instance not in instances:
            raise InputError("dataset promote", f"source instance '{first.source_instance}' is not in the base file",
                             field="source_instance")
        out["instances"].append({**instances[first.source_instance], "instance_id": gid})
    out["texts"] += [_text_record(r) for r in chosen[chosen.instance_id.isin(fresh)].itertuples()]
    return out, len(fresh), chosen.instance_id.nunique() - len(fresh)


def promote(base_path: Path, scenarios: Path, texts: pd.DataFrame, pairs: pd.DataFrame,
            out: Path | None = None) -> Promoted:
    """Write base + the given generated pairs as a new, validated dataset file."""
    if pairs.empty:
        raise InputError("dataset promote", "no accepted generated pairs to promote (import a review, or pass --all)")
    base = json.loads(base_path.read_text(encoding="utf-8"))
    merged, added, skipped = merge(base, texts, pairs)
    target = out or next_version(base_path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(dump(merged), encoding="utf-8")
    try:
        load_dataset(tmp, scenarios)
    except InputError:
        tmp.unlink()
        raise
    tmp.replace(target)
    return Promoted(target, added, len(merged["texts"]) - len(base["texts"]), skipped)
