"""Benchmark: behaviour's base runs in one batched call per instance vs the runs it replaced (embedded model,
smoke settings, same machine, interleaved instance by instance).

- ours (`choice_runs`): the answered prompts of both option orders, each clean (cue) sequence once and the
  corrupt sequences of the neutral and the negative event, in one call; the letter metric read at the
  answer position of those rows.
- separate: `base_runs` per metric (continuation, letter) and per event (neutral, negative), each running
  its own clean and corrupt sequences: the clean runs four times over, and every prompt again for the letters.
Both give the same signed scores up to float rounding; the largest difference is printed.
Prints `ratio_choice_runs_vs_separate: X`.
Usage: python bench/behaviour.py [--instances N] [--model ALIAS]   (N of the smoke sample; default 4)
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

from analyses.causal.runs import Engine, base_runs, choice_runs  # noqa: E402
from core.config import load_params  # noqa: E402
from core.data import load_dataset  # noqa: E402
from core.data.prompts import sample_instances, variants  # noqa: E402
from core.models.loader import load_model  # noqa: E402

EVENTS = ("neutral", "negative")
METRICS = ("continuation", "letter")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=4)
    parser.add_argument("--model", default="smollm2-135m")
    args = parser.parse_args()
    params = load_params(profile="smoke")
    cfg = params.behaviour
    model = load_model(args.model, params.model(args.model))
    ds = load_dataset(params.data.dataset, params.data.scenarios)
    chosen = sample_instances(ds.instances_in(cfg.splits), cfg.instances_per_family, params.seed)[: args.instances]
    engines = {m: Engine(model, cfg.batch_rows, metric=m) for m in METRICS}
    seconds, worst = {"ours": 0.0, "separate": 0.0}, 0.0
    choice_runs(engines["continuation"], {e: variants(model.tokenizer, chosen[0], "continuation", e) for e in EVENTS})
    for inst in chosen:
        start = time.perf_counter()
        ours = choice_runs(engines["continuation"], {e: variants(model.tokenizer, inst, "continuation", e)
                                                     for e in EVENTS})
        seconds["ours"] += time.perf_counter() - start
        start = time.perf_counter()
        separate = {(e, m): base_runs(engines[m], variants(model.tokenizer, inst, m, e), []) for e in EVENTS
                    for m in METRICS}
        seconds["separate"] += time.perf_counter() - start
        for (e, m), base in separate.items():
            got = ours[e][m]  # type: ignore[index]
            worst = max(worst, float(np.abs(got.ld_clean - base.ld_clean).max()),
                        float(np.abs(got.ld_corrupt - base.ld_corrupt).max()))
    print(f"model: {args.model}  instances: {len(chosen)}  threads: {torch.get_num_threads()}")
    print(f"ours (one call per instance): {seconds['ours']:.2f} s   separate runs: {seconds['separate']:.2f} s")
    print(f"max |signed score difference|: {worst:.2e}")
    print(f"ratio_choice_runs_vs_separate: {seconds['separate'] / seconds['ours']:.2f}")


if __name__ == "__main__":
    main()
