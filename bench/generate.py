"""Benchmark: batched generation against one prompt at a time (transformers backend, embedded model).

Both arms get the same prompts — the dataset phase's own per-cell prompts, chat template applied —
the same token budget and greedy decoding, through the same function (core.models.generation.
generate_batch): the batched arm makes one left-padded `generate` call per `--batch` prompts, the
sequential arm one call per prompt. Prints wall time and new tokens/s of each and
`ratio_batched_vs_sequential: X` (sequential wall time / batched wall time; target X >= 3).
Usage: python bench/generate.py [--prompts 8] [--batch 8] [--max-new-tokens 64]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from analyses.dataset import plan  # noqa: E402
from core.config import load_params  # noqa: E402
from core.data import load_dataset  # noqa: E402
from core.data.lexicon import Lexicon  # noqa: E402
from core.models.generation import Sampling, chat_ids, generate_batch  # noqa: E402
from core.models.loader import load_model  # noqa: E402


def prompts(n: int) -> list[tuple[str, str]]:
    """The first n requests the dataset phase would send (smoke profile, whole instances)."""
    params = load_params(profile="smoke", overrides=[f"dataset.max_instances={n}"])
    ds = load_dataset(params.data.dataset, params.data.scenarios)
    units = plan(ds, params.dataset, Lexicon.load(params.data.lexicon), "bench", params.seed)
    return [(p.request.system, p.request.user) for u in units for p in u][:n]


def run(model, texts: list[list[int]], sampling: Sampling, batch: int) -> tuple[float, int]:
    start, tokens = time.perf_counter(), 0
    for i in range(0, len(texts), batch):
        rows = generate_batch(model.hf, model.tokenizer, texts[i:i + batch], sampling, seed=0)
        tokens += sum(n for _, n, _ in rows)
    return time.perf_counter() - start, tokens


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    args = ap.parse_args()
    params = load_params(profile="smoke")
    model = load_model("smollm2-135m", params.model("smollm2-135m"))
    texts = [chat_ids(model.tokenizer, system, user) for system, user in prompts(args.prompts)]
    lengths = [len(t) for t in texts]
    greedy = Sampling(temperature=0.0, top_p=1.0, max_new_tokens=args.max_new_tokens)
    run(model, texts[:1], Sampling(max_new_tokens=4), 1)  # warm-up
    t_seq, n_seq = run(model, texts, greedy, 1)
    t_bat, n_bat = run(model, texts, greedy, args.batch)
    print(f"prompts: {len(texts)} (prompt tokens {min(lengths)}-{max(lengths)}), max_new_tokens: "
          f"{args.max_new_tokens}, batch: {args.batch}, torch threads: {__import__('torch').get_num_threads()}")
    print(f"sequential: {t_seq:.1f} s, {n_seq} new tokens, {n_seq / t_seq:.1f} tokens/s")
    print(f"batched:    {t_bat:.1f} s, {n_bat} new tokens, {n_bat / t_bat:.1f} tokens/s")
    print(f"ratio_batched_vs_sequential: {t_seq / t_bat:.2f}")


if __name__ == "__main__":
    main()
