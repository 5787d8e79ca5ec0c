"""Benchmark: a steering alpha sweep as rows of ONE generate call against one generate call per alpha.

Both arms run the same code (core/models/steer.generate_steered: nnsight, KV cache, shared prompt prefix,
seeded per-row sampling) on the embedded model, for one task-free steering prompt of the dataset, the
plan's alpha grid and its negatives (21 values by default), the same seeds and the same token budget
(`--tokens` new tokens at most per row). Because sampling is seeded per row, both arms must produce
the same tokens; the benchmark checks it. Prints wall time per arm and
`ratio_batched_vs_sequential: X` (target X >= 3).
Usage: python bench/steering.py [--tokens N] [--layer L]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from core.config import load_params  # noqa: E402
from core.data import load_dataset  # noqa: E402
from core.data.prompts import prompt_ids  # noqa: E402
from core.models.loader import load_model  # noqa: E402
from core.models.steer import Sampling, SteeredRow, Steering, generate_steered  # noqa: E402

GRID = [0, 1, 2, 3, 5, 7, 10, 15, 20, 25, 30]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--layer", type=int, default=18)
    args = parser.parse_args()
    params = load_params()
    model = load_model("smollm2-135m", params.model("smollm2-135m"))
    prompt = load_dataset(params.data.dataset, params.data.scenarios).steering_prompts[0].text
    ids = [prompt_ids(model.tokenizer, prompt)]
    v = torch.randn(model.d_model, generator=torch.Generator().manual_seed(0))
    steering = Steering(args.layer, v / v.norm())  # the cost does not depend on which direction
    alphas = sorted({float(a) for a in GRID} | {-float(a) for a in GRID})
    rows = [SteeredRow(0, a, seed=1234) for a in alphas]
    sampling = Sampling(max_new_tokens=args.tokens, temperature=0.7, top_p=0.9)
    generate_steered(model, ids, rows[:2], steering, Sampling(max_new_tokens=2, temperature=0.7, top_p=0.9))  # warm-up
    start = time.perf_counter()
    batched = generate_steered(model, ids, rows, steering, sampling)
    t_batched = time.perf_counter() - start
    start = time.perf_counter()
    sequential = [generate_steered(model, ids, [row], steering, sampling)[0] for row in rows]
    t_sequential = time.perf_counter() - start
    print(f"alphas: {len(rows)}  prompt tokens: {len(ids[0])}  max new tokens: {args.tokens}  "
          f"threads: {torch.get_num_threads()}")
    print(f"generated tokens: batched {sum(map(len, batched))}, sequential {sum(map(len, sequential))}; "
          f"identical_outputs: {batched == sequential}")
    print(f"batched (1 generate call): {t_batched:.2f} s")
    print(f"sequential ({len(rows)} generate calls): {t_sequential:.2f} s")
    print(f"ratio_batched_vs_sequential: {t_sequential / t_batched:.2f}")


if __name__ == "__main__":
    main()
