"""Benchmark: our extractor against v0's method and a bare HF forward (same texts, same machine).

- ours: length-bucketed batches, one nnsight trace per batch pooling every layer in place; the trace
  stops after the last block, so the final norm and the LM head never run.
- v0: one forward per layer per text at batch size 1, layers {8,12,16,20,24} (v0 hooked one layer
  per pass; those past the model's depth are dropped), on the same token ids.
- bare HF: the same batches through `model(..., output_hidden_states=True)` with nothing kept.
- with the LM head: the same traces, run on to logits at every position (what extraction did before it
  stopped early). The ratio is the gain of not computing logits; it grows with the vocabulary
  (SmolLM2 49k, Gemma-3 262k), and the largest batch's logits are printed.
Prints tokens/s for each and `ratio_vs_v0: X`, `ratio_vs_bare_hf: Y` (targets X >= 4, Y >= 0.8),
`ratio_vs_lm_head: Z`.
Usage: python bench/extract.py [--texts N] [--model smollm2-135m|gemma3-270m]
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


def v0_layers(model) -> list[int]:
    """v0's hooked layers that the model has."""
    return [layer for layer in V0_LAYERS if layer < model.n_layers]


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_v0(model, encoded) -> float:
    def run() -> None:
        for layer in v0_layers(model):
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


def bench_traces(model, encoded, batch_tokens: int, logits: bool) -> tuple[float, int]:
    """Seconds for the pooled traces of every batch, and the most logits bytes one batch made."""
    layers, largest = list(range(model.n_layers)), 0

    def run() -> None:
        nonlocal largest
        for batch in length_buckets([len(e.ids) for e in encoded], batch_tokens):
            ids, mask, weights = collate([encoded[i] for i in batch], model.tokenizer.pad_token_id)
            w = weights.to(model.device).unsqueeze(-1)
            _, out = engine.traced_forward(model, engine.hf_inputs(model, ids, mask), layers,
                                           lambda h, w=w: (h * engine.beside(w, h)).sum(dim=1), logits=logits)
            largest = max(largest, 0 if out is None else out.numel() * out.element_size())

    return _timed(run), largest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=16)
    parser.add_argument("--model", default="smollm2-135m", choices=["smollm2-135m", "gemma3-270m"])
    args = parser.parse_args()
    params = load_params()
    model = load_model(args.model, params.model(args.model))
    texts = load_dataset(params.data.dataset, params.data.scenarios).texts[: args.texts]
    encoded = encode_texts(model, texts, params.extract)
    tokens = sum(len(e.ids) for e in encoded)
    bench_bare(model, encoded[:4], params.extract.batch_tokens)  # warm-up
    with tempfile.TemporaryDirectory() as tmp:
        ours = _timed(lambda: extract_into(ActivationCache.open(Path(tmp), {}), model, texts, params.extract))
    bare = bench_bare(model, encoded, params.extract.batch_tokens)
    v0 = bench_v0(model, encoded)
    stopped, _ = bench_traces(model, encoded, params.extract.batch_tokens, logits=False)
    head, head_bytes = bench_traces(model, encoded, params.extract.batch_tokens, logits=True)
    layers = f"all {model.n_layers} layers"
    print(f"model: {args.model}  texts: {len(texts)}  tokens: {tokens}  threads: {torch.get_num_threads()}")
    print(f"ours ({layers}):   {tokens / ours:8.1f} tokens/s  ({ours:.1f} s)")
    print(f"bare HF forward:        {tokens / bare:8.1f} tokens/s  ({bare:.1f} s)")
    print(f"v0 ({len(v0_layers(model))} layers, b=1):     {tokens / v0:8.1f} tokens/s  ({v0:.1f} s)")
    print(f"traces, stopped:        {tokens / stopped:8.1f} tokens/s  ({stopped:.1f} s)")
    print(f"traces with LM head:    {tokens / head:8.1f} tokens/s  ({head:.1f} s; "
          f"largest batch's logits {head_bytes / 1e9:.2f} GB)")
    print(f"ratio_vs_v0: {v0 / ours:.2f}")
    print(f"ratio_vs_bare_hf: {bare / ours:.2f}")
    print(f"ratio_vs_lm_head: {head / stopped:.2f}")


if __name__ == "__main__":
    main()
