"""The activation cache (DESIGN P6): extract once, analyse many times.

Layout: outputs/activations/<alias>/<key>/part-NNNNN.npz + manifest.json, where <key> hashes the
model id, revision, pooling, template flag, max length and dataset hash. Each part holds the pooled
residuals of every layer for the texts of a few whole batches (core.activations flushes one every
`extract.flush_every_batches` batches or `extract.flush_every_seconds`, whichever comes first),
written to a temporary name and renamed, so a kill (even SIGKILL mid-write) leaves only whole parts, and
an interrupted run resumes from the parts that exist and never duplicates a text. What `load` returns
does not depend on where the part boundaries fell.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


def cache_key(fields: dict[str, Any]) -> str:
    blob = json.dumps(fields, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass
class ActivationCache:
    root: Path

    @classmethod
    def at(cls, base: Path, fields: dict[str, Any]) -> ActivationCache:
        """The cache for these key fields, for reading: nothing is created."""
        return cls(base / cache_key(fields))

    @classmethod
    def open(cls, base: Path, fields: dict[str, Any]) -> ActivationCache:
        """Open (creating) the cache folder for these key fields, recording them in key.json."""
        cache = cls.at(base, fields)
        cache.root.mkdir(parents=True, exist_ok=True)
        key_file = cache.root / "key.json"
        if not key_file.exists():
            _atomic_write(key_file, json.dumps(fields, indent=1, sort_keys=True).encode())
        return cache

    def parts(self) -> list[Path]:
        return sorted(self.root.glob("part-*.npz"))

    def done_ids(self) -> set[str]:
        done: set[str] = set()
        for part in self.parts():
            with np.load(part) as data:
                done.update(str(t) for t in data["text_ids"])
        return done

    def write_part(self, text_ids: list[str], acts: np.ndarray, dtype: str) -> None:
        """Store [layers, len(text_ids), d] activations as the next part (two parts when some texts overflow
        float16: those go to a float32 part of their own)."""
        # float16 overflows past 65504. The choice is per text, not per part, so what a text's stored
        # values are never depends on which texts shared its part (part boundaries follow the clock).
        fits = np.abs(acts).max(axis=(0, 2)) < 6e4 if acts.size else np.ones(len(text_ids), dtype=bool)
        for rows, kind in ((fits, dtype), (~fits, "float32")):
            if rows.any():
                self._write_one([t for t, keep in zip(text_ids, rows, strict=True) if keep],
                                acts[:, rows].astype(_np_dtype(kind)))

    def _write_one(self, text_ids: list[str], acts: np.ndarray) -> None:
        index = len(self.parts())
        tmp = self.root / f".part-{index:05d}.tmp.npz"
        np.savez(tmp, text_ids=np.array(text_ids), acts=acts)
        os.replace(tmp, self.root / f"part-{index:05d}.npz")  # a kill mid-write leaves only the hidden tmp

    def mark_complete(self, info: dict[str, Any]) -> None:
        _atomic_write(self.root / "manifest.json", json.dumps(info, indent=1, sort_keys=True).encode())

    @property
    def complete(self) -> bool:
        return (self.root / "manifest.json").exists()

    def manifest(self) -> dict[str, Any]:
        return dict(json.loads((self.root / "manifest.json").read_text()))

    def load(self, text_ids: list[str]) -> np.ndarray:
        """float32 activations [layers, len(text_ids), d] in the order asked for."""
        ids, blocks = [], []
        for part in self.parts():
            with np.load(part) as data:
                ids += [str(t) for t in data["text_ids"]]
                blocks.append(data["acts"])
        where = {t: i for i, t in enumerate(ids)}
        missing = [t for t in text_ids if t not in where]
        if missing:
            raise KeyError(f"{len(missing)} texts not in the activation cache, e.g. {missing[0]}")
        acts = np.concatenate(blocks, axis=1)
        return acts[:, [where[t] for t in text_ids]].astype(np.float32)


def _np_dtype(name: str) -> Any:
    # numpy has no bfloat16: bfloat16 caches are stored as float16 after a range check upstream
    return np.float32 if name == "float32" else np.float16


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
