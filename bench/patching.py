"""Benchmark: the exact patching sweep, batched with a reused prefix KV cache vs one pass per intervention,
and attribution patching vs the exact sweep (embedded model, smoke settings, same machine).

- exact, ours: every (layer, position) interchange of an instance (both option orders) as rows of
  batched forwards over the suffix, the prefix before the cue computed once and its KV cache reused,
  and rows edited at block L starting at block L from the base run's kept residual below it.
- exact, without block skipping: the same with every row computing every block.
- exact, one per pass: the same interventions, one full-prompt forward each (batch 1, no cache).
- exact, batched only: rows batched but every row runs the full prompt (no prefix reuse).
- attribution: one forward + backward of the corrupt run per order, estimating every layer x position.
The clean/corrupt base runs that all methods need are excluded from every timing. The LDs of the two
exact methods are checked to agree. Prints `ratio_batched_vs_one_per_pass: X` (target >= 2.5) and
`ratio_attribution_vs_exact: Y` (exact sweep time / attribution time).
With --metric-cost it instead times the base runs plus exact sweep under the letter and the continuation
behaviour metric, interleaved, and prints `ratio_continuation_vs_letter: Z`.
Usage: python bench/patching.py [--instances N] [--metric-cost]   (N of the smoke sample; default 3)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from analyses.causal.runs import Engine, attribution, base_runs, interchange, order_lds  # noqa: E402
from analyses.patching import sites  # noqa: E402
from core.config import load_params  # noqa: E402
from core.data import load_dataset  # noqa: E402
from core.data.prompts import aligned_instances, sample_instances  # noqa: E402
from core.models.loader import load_model  # noqa: E402
from core.stats.directions import resolve_layers  # noqa: E402


def sweep_rows(base, cfg, layers):
    return [[interchange(base, o, layer, [p]) for layer in layers
             for _, p in sites(pair, cfg.max_span_positions, cfg.final_positions).single]
            for o, pair in enumerate(base.pairs)]


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def measure(model, cfg, work) -> dict[str, float]:
    """Seconds per method, the methods interleaved instance by instance (fair under drifting load)."""
    engines = {"ours": Engine(model, cfg.batch_rows),
               "no_skip": Engine(model, cfg.batch_rows, skip_blocks=False),
               "batched_only": Engine(model, cfg.batch_rows, reuse_prefix=False),
               "one_per_pass": Engine(model, 1, reuse_prefix=False)}
    seconds = dict.fromkeys([*engines, "attribution"], 0.0)
    worst = 0.0
    for base, rows in work:
        lds = {}
        for name, engine in engines.items():
            dt, (lds[name], _) = timed(lambda e=engine, b=base, r=rows: order_lds(e, b.pairs, r))
            seconds[name] += dt
        dt, _ = timed(lambda b=base: attribution(engines["ours"], b, list(range(model.n_layers))))
        seconds["attribution"] += dt
        worst = max(worst, *(float(np.abs(a - b).max()) for a, b in zip(lds["ours"], lds["one_per_pass"],
                                                                          strict=True)))
    seconds["max_ld_difference"] = worst
    return seconds


def metric_cost(model, cfg, chosen, layers) -> None:
    """The exact sweep plus base runs under each behaviour metric, interleaved instance by instance: the
    continuation metric scores 4 sequences (orders x answers) with the answer's tokens, the letter one 2."""
    seconds = {"letter": 0.0, "continuation": 0.0}
    for inst in chosen:
        for metric in seconds:
            pairs, _ = aligned_instances(model.tokenizer, [inst], metric)
            if not pairs:
                continue
            engine, pair = Engine(model, cfg.batch_rows, metric=metric), next(iter(pairs.values()))

            def work(e=engine, p=pair):
                base = base_runs(e, p, layers)
                return order_lds(e, base.pairs, sweep_rows(base, cfg, layers))

            seconds[metric] += timed(work)[0]
    print(f"base runs + exact sweep, letter: {seconds['letter']:.2f} s   continuation: {seconds['continuation']:.2f} s")
    print(f"ratio_continuation_vs_letter: {seconds['continuation'] / seconds['letter']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--metric-cost", action="store_true", help="only compare the two behaviour metrics")
    args = parser.parse_args()
    params = load_params(profile="smoke")
    cfg = params.patching
    model = load_model("smollm2-135m", params.model("smollm2-135m"))
    ds = load_dataset(params.data.dataset, params.data.scenarios)
    chosen = sample_instances(list(ds.instances.values()), cfg.instances_per_family, params.seed)[: args.instances]
    layers = resolve_layers(cfg.layers, model.n_layers)
    if args.metric_cost:
        metric_cost(model, cfg, chosen, layers)
        return
    pairs, _ = aligned_instances(model.tokenizer, chosen, "letter")
    ours = Engine(model, cfg.batch_rows)
    bases = [base_runs(ours, p, range(model.n_layers)) for p in pairs.values()]
    work = [(b, sweep_rows(b, cfg, layers)) for b in bases]
    n_rows = sum(len(r) for _, rows in work for r in rows)
    order_lds(ours, bases[0].pairs, work[0][1])  # warm-up
    t = measure(model, cfg, work)
    print(f"instances: {len(bases)}  interventions: {n_rows}  layers: {layers}  threads: {torch.get_num_threads()}")
    print(f"prompt tokens (mean): {np.mean([b.pairs[0].length for b in bases]):.0f}  "
          f"prefix tokens (mean): {np.mean([b.prefix_len for b in bases]):.0f}")
    print(f"exact, batched + prefix cache + block skipping: {t['ours']:.2f} s   without block skipping: "
          f"{t['no_skip']:.2f} s   batched only: {t['batched_only']:.2f} s   one per pass: {t['one_per_pass']:.2f} s")
    print(f"max |LD difference| ours vs one per pass: {t['max_ld_difference']:.2e}")
    print(f"attribution (every layer x position, both orders): {t['attribution']:.2f} s")
    print(f"ratio_batching_only_vs_one_per_pass: {t['one_per_pass'] / t['batched_only']:.2f}")
    print(f"ratio_batching_and_prefix_vs_one_per_pass: {t['one_per_pass'] / t['no_skip']:.2f}")
    print(f"ratio_batched_vs_one_per_pass: {t['one_per_pass'] / t['ours']:.2f}")
    print(f"ratio_attribution_vs_exact: {t['ours'] / t['attribution']:.2f}")

if __name__ == "__main__":
    main()
