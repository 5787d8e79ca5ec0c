"""Benchmark: the vectorised random-direction null against a loop over sklearn's roc_auc_score.

1000 seeded unit directions x every layer of the embedded model, scored on the test split of the
smoke activation cache (run `python -m analyses extract` first). Both paths compute the same 30,000
AUROCs (checked to agree); prints `ratio_vs_sklearn_loop: X` (target X >= 20).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import paths  # noqa: E402
from core.activations import open_cache  # noqa: E402
from core.config import load_params  # noqa: E402
from core.data import load_dataset  # noqa: E402
from core.stats.nulls import random_direction_aurocs, random_directions  # noqa: E402

N = 1000


def main() -> None:
    params = load_params()
    ds = load_dataset(params.data.dataset, params.data.scenarios)
    cache = open_cache(params, "smollm2-135m", ds, paths.activations_dir("smollm2-135m"))
    test = [t for t in ds.texts if t.split == "test"]
    acts = cache.load([t.text_id for t in test]).astype(np.float64)
    y = np.array([t.empathic for t in test])
    start = time.perf_counter()
    fast = [random_direction_aurocs(acts[layer], y, N, seed=layer) for layer in range(acts.shape[0])]
    vectorised = time.perf_counter() - start
    start = time.perf_counter()
    slow = [[roc_auc_score(y, acts[layer] @ d) for d in random_directions(N, acts.shape[2], seed=layer)]
            for layer in range(acts.shape[0])]
    loop = time.perf_counter() - start
    assert np.allclose(np.array(fast), np.array(slow)), "vectorised and sklearn AUROCs disagree"
    print(f"layers: {acts.shape[0]}  directions: {N}  test texts: {len(test)}")
    print(f"vectorised: {vectorised:.2f} s   sklearn loop: {loop:.2f} s")
    print(f"ratio_vs_sklearn_loop: {loop / vectorised:.1f}")


if __name__ == "__main__":
    main()
