"""Load and check a dataset file (ours or v0's JSONL) into one in-memory form.

Every problem is an InputError naming file, line and field; nothing is written by loading.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError

from core.data.jsonlines import read_json_records, read_jsonl
from core.data.schema import Family, Instance, PairKind, SteeringPrompt, TextRecord, V0Pair
from core.errors import InputError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Text:
    """A text with everything an analysis needs to know about it."""

    text_id: str
    instance_id: str
    family: str
    split: str
    empathic: bool
    task: str
    prompt: str
    text: str
    source: str
    rules: str | None = None  # provenance (v3): the writing rules' revision and the date written
    written: str | None = None


@dataclass(frozen=True)
class Pair:
    pair_id: str
    kind: PairKind
    family: str
    instance_id: str
    split: str
    positive: Text
    negative: Text


@dataclass
class Dataset:
    path: Path
    sha256: str
    families: dict[str, Family]
    instances: dict[str, Instance] = field(default_factory=dict)
    texts: list[Text] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    steering_prompts: list[SteeringPrompt] = field(default_factory=list)

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]

    def instances_in(self, splits: Iterable[str]) -> list[Instance]:
        """The instances of the families of these splits, in file order."""
        keep = set(splits)
        return [i for i in self.instances.values() if self.families[i.family].split in keep]

    def sample_per_family(self, n: int, seed: int) -> Dataset:
        """The same dataset cut to a seeded sample of n instances of each family, with their texts and
        pairs (the hash stays the file's; steering prompts are kept). Smaller samples nest in larger."""
        by_family: dict[str, list[str]] = {}
        for iid in sorted(self.instances):
            by_family.setdefault(self.instances[iid].family, []).append(iid)
        rng = np.random.default_rng(seed)
        keep = {ids[i] for _, ids in sorted(by_family.items()) for i in rng.permutation(len(ids))[:n]}
        texts = [t for t in self.texts if t.instance_id in keep]
        return Dataset(self.path, self.sha256, self.families, {k: v for k, v in self.instances.items() if k in keep},
                       texts, derive_pairs(texts), list(self.steering_prompts))


def _validate(model: type[M], path: Path, line: int, value: Any) -> M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or None
        raise InputError(path, err["msg"], line=line, field=where) from exc


def _unique(path: Path, items: Iterable[tuple[int, str]], what: str) -> None:
    seen: dict[str, int] = {}
    for line, key in items:
        if key in seen:
            raise InputError(path, f"duplicate {what} '{key}' (first on line {seen[key]})", line=line,
                             field=what)
        seen[key] = line


def load_families(path: str | Path) -> dict[str, Family]:
    """The scenario families file: {"families": [...]}, one family per line."""
    path = Path(path)
    _, top = read_json_records(path)
    rows = top.get("families")
    if not isinstance(rows, list):
        raise InputError(path, "missing the 'families' list", field="families")
    families = [(line, _validate(Family, path, line, value)) for line, value in rows]
    _unique(path, ((line, f.id) for line, f in families), "id")
    return {f.id: f for _, f in families}


def _family_of(path: Path, line: int, families: dict[str, Family], name: str, fld: str) -> Family:
    if name not in families:
        raise InputError(path, f"unknown scenario '{name}'", line=line, field=fld)
    return families[name]


def _records(path: Path, top: dict[str, Any], key: str, model: type[M]) -> list[tuple[int, M]]:
    rows = top.get(key, [])
    if not isinstance(rows, list):
        raise InputError(path, f"'{key}' must be a list", field=key)
    return [(line, _validate(model, path, line, value)) for line, value in rows]


def _load_ours(path: Path, families: dict[str, Family]) -> Dataset:
    _, top = read_json_records(path)
    unknown = set(top) - {"format", "instances", "texts", "steering_prompts"}
    if unknown:
        raise InputError(path, f"unknown top-level key(s) {sorted(unknown)}", line=1)
    instances = _records(path, top, "instances", Instance)
    texts = _records(path, top, "texts", TextRecord)
    prompts = _records(path, top, "steering_prompts", SteeringPrompt)
    _unique(path, ((ln, i.instance_id) for ln, i in instances), "instance_id")
    _unique(path, ((ln, t.text_id) for ln, t in texts), "text_id")
    _unique(path, ((ln, p.prompt_id) for ln, p in prompts), "prompt_id")
    by_id = {}
    for line, inst in instances:
        _family_of(path, line, families, inst.family, "family")
        by_id[inst.instance_id] = inst
    for line, sp in prompts:
        if sp.family is not None:
            _family_of(path, line, families, sp.family, "family")
    ds = Dataset(path, "", families, by_id, steering_prompts=[p for _, p in prompts])
    for line, rec in texts:
        if rec.instance_id not in by_id:
            raise InputError(path, f"unknown instance '{rec.instance_id}'", line=line, field="instance_id")
        inst = by_id[rec.instance_id]
        fam = families[inst.family]
        ds.texts.append(Text(rec.text_id, rec.instance_id, fam.id, fam.split, rec.empathic, rec.task,
                             inst.situation, rec.text, rec.source, rec.rules, rec.written))
    ds.pairs = derive_pairs(ds.texts)
    return ds


def _load_v0(path: Path, families: dict[str, Family]) -> Dataset:
    ds = Dataset(path, "", families)
    for line, value in read_jsonl(path):
        row = _validate(V0Pair, path, line, value)
        fam = _family_of(path, line, families, row.scenario_id, "scenario_id")
        iid = f"{path.stem}_{line}"
        pos, neg = (Text(f"{iid}_{tag}", iid, fam.id, fam.split, emp, "none", fam.objective, txt,
                         row.source_model or "unknown")
                    for tag, emp, txt in (("e", True, row.empathic_text), ("n", False, row.non_empathic_text)))
        ds.texts += [pos, neg]
        ds.pairs.append(Pair(f"{iid}:empathy_v0", "empathy_v0", fam.id, iid, fam.split, pos, neg))
    return ds


_CELL_PAIRS: list[tuple[PairKind, tuple[bool, str], tuple[bool, str]]] = [
    ("empathy_task_completed", (True, "completed"), (False, "completed")),
    ("empathy_task_abandoned", (True, "abandoned"), (False, "abandoned")),
    ("empathy_task_free", (True, "none"), (False, "none")),
    ("task_empathic", (True, "completed"), (True, "abandoned")),
    ("task_not_empathic", (False, "completed"), (False, "abandoned")),
]


def derive_pairs(texts: list[Text]) -> list[Pair]:
    """Empathy pairs matched on task outcome and task pairs matched on empathy, per instance."""
    cells: dict[str, dict[tuple[bool, str], Text]] = {}
    for t in texts:
        cells.setdefault(t.instance_id, {})[(t.empathic, t.task)] = t
    pairs = []
    for iid, cell in cells.items():
        for kind, a, b in _CELL_PAIRS:
            if a in cell and b in cell:
                pos, neg = cell[a], cell[b]
                pairs.append(Pair(f"{iid}:{kind}", kind, pos.family, iid, pos.split, pos, neg))
    return pairs


def load_dataset(path: str | Path, scenarios: str | Path = "data/scenarios.json",
                 per_family: int | None = None, seed: int = 0) -> Dataset:
    """Load our JSON format or a v0 JSONL file (chosen by extension), fully checked; `per_family` keeps a
    seeded sample of N instances of each family (our format; a v0 file is kept whole)."""
    path = Path(path)
    families = load_families(scenarios)
    ds = _load_v0(path, families) if path.suffix == ".jsonl" else _load_ours(path, families)
    if not ds.texts:
        raise InputError(path, "dataset holds no texts")
    ds.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return ds.sample_per_family(per_family, seed) if per_family and ds.instances else ds
