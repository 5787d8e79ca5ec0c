"""Benchmark: our extractor against v0's method and a bare HF forward (same texts, same machine).

- ours: length-bucketed batches, one nnsight trace per batch pooling all 30 layers in place.
- v0: one forward per layer per text at batch size 1, layers {8,12,16,20,24} (v0 hooked one layer
  per pass), on the same token ids.
- bare HF: the same batches through `model(..., output_hidden_states=True)` with nothing kept.
Prints tokens/s for each and `ratio_vs_v0: X`, `ratio_vs_bare_hf: Y` (targets X >= 4, Y >= 0.8).
Usage: python bench/extract.py [--texts N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from core.activations import encode_texts, extract_into  # noqa: E402
from core.cache import ActivationCache  # noqa: E402
from core.config import load_params  # noqa: E402
from core.data import load_dataset  # noqa: E402
from core.models import engine  # noqa: E402
from core.models.loader import load_model  # noqa: E402
from core.models.text import collate, length_buckets  # noqa: E402

V0_LAYERS = [8, 12, 16, 20, 24]


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_v0(model, encoded) -> float:
    def run() -> None:
        for layer in V0_LAYERS:
            pooled: list[torch.Tensor] = []  # v0 mean-pooled the hooked layer's output per text
            for e in encoded:
                store = engine.hooked_residuals(model, engine.hf_inputs(model, torch.tensor([e.ids])), [layer])
                pooled.append(store[layer].mean(dim=1))

    return _timed(run)


def bench_bare(model, encoded, batch_tokens: int) -> float:
    def run() -> None:
        for batch in length_buckets([len(e.ids) for e in encoded], batch_tokens):
            ids, mask, _ = collate([encoded[i] for i in batch], model.tokenizer.pad_token_id)
            engine.forward_logits(model, engine.hf_inputs(model, ids, mask, hidden=True))

    return _timed(run)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=16)
    args = parser.parse_args()
    params = load_params()
    model = load_model("smollm2-135m", params.model("smollm2-135m"))
    texts = load_dataset(params.data.dataset).texts[: args.texts]
    encoded = encode_texts(model, texts, params.extract)
    tokens = sum(len(e.ids) for e in encoded)
    bench_bare(model, encoded[:4], params.extract.batch_tokens)  # warm-up
    with tempfile.TemporaryDirectory() as tmp:
        ours = _timed(lambda: extract_into(ActivationCache.open(Path(tmp), {}), model, texts, params.extract))
    bare = bench_bare(model, encoded, params.extract.batch_tokens)
    v0 = bench_v0(model, encoded)
    print(f"texts: {len(texts)}  tokens: {tokens}  threads: {torch.get_num_threads()}")
    print(f"ours (all 30 layers): {tokens / ours:8.1f} tokens/s  ({ours:.1f} s)")
    print(f"bare HF forward:      {tokens / bare:8.1f} tokens/s  ({bare:.1f} s)")
    print(f"v0 (5 layers, b=1):   {tokens / v0:8.1f} tokens/s  ({v0:.1f} s)")
    print(f"ratio_vs_v0: {v0 / ours:.2f}")
    print(f"ratio_vs_bare_hf: {bare / ours:.2f}")


if __name__ == "__main__":
    main()
