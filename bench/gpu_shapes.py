"""Benchmark: the engine at the real Llama-3-8B and Gemma-2-9B shapes, random-init in bfloat16 on CUDA.

The shapes are typed in from the models' public config.json files (no download, no hub): hidden size,
layers, heads, KV heads, head dim, MLP width, vocabulary, Gemma-2's soft-capping and sliding window.
Weights are random, so the figures are speed and memory, never results. Token ids come from the tiny
tokenizer (core/models/tiny_tokenizer.py; every id is valid in both vocabularies). For each shape it prints:
- extract: pooled residuals of every layer, tokens/s and peak GPU memory (torch.cuda.max_memory_allocated);
- steer: one steered generation call of 256 rows (8 prompts x 32 alphas, seeded sampling), new tokens/s;
- patch: an interchange sweep (every layer x the span and last position, both option orders) batched with
  the prefix cache and block skipping, its time and `ratio_batched_vs_one_per_pass`.
Without CUDA it says so and exits 0; `--scaled` runs shapes divided by 16 (4 layers) on any device, to
check the script itself.
Usage: python bench/gpu_shapes.py [--scaled] [--shapes llama3-8b gemma2-9b]
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

from analyses.causal.runs import Engine, base_runs, interchange, order_lds  # noqa: E402
from core.config import ModelSpec  # noqa: E402
from core.data.prompts import ChoicePair  # noqa: E402
from core.models.capture import pooled_residuals  # noqa: E402
from core.models.loader import LoadedModel  # noqa: E402
from core.models.steer import Sampling, SteeredRow, Steering, generate_steered  # noqa: E402
from core.models.tiny_tokenizer import tiny_tokenizer  # noqa: E402

SHAPES = {  # public config.json values
    "llama3-8b": ("llama", "LlamaConfig", dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=8, vocab_size=128256, rope_theta=500000.0,
                  rms_norm_eps=1e-5, max_position_embeddings=8192)),
    "gemma2-9b": ("gemma2", "Gemma2Config", dict(hidden_size=3584, intermediate_size=14336, num_hidden_layers=42,
                  num_attention_heads=16, num_key_value_heads=8, head_dim=256, vocab_size=256000,
                  query_pre_attn_scalar=256, sliding_window=4096, final_logit_softcapping=30.0,
                  attn_logit_softcapping=50.0, max_position_embeddings=8192)),
}
SCALED = {"hidden_size": 16, "intermediate_size": 16, "num_attention_heads": 4, "num_key_value_heads": 4,
          "head_dim": 4, "vocab_size": 64}


def build(name: str, device: str, scaled: bool) -> LoadedModel:
    """A random-init model of the named shape in bfloat16 (scaled: dims divided, 4 layers)."""
    import transformers

    family, config_class, shape = SHAPES[name]
    shape = dict(shape)
    if scaled:
        shape.update({k: max(shape[k] // f, 1) for k, f in SCALED.items() if k in shape}, num_hidden_layers=4)
    tok = tiny_tokenizer()
    config = getattr(transformers, config_class)(pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                                                 eos_token_id=tok.eos_token_id, **shape)
    torch.manual_seed(0)
    with torch.device(device):
        hf = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).eval()
    spec = ModelSpec(source="tiny", hf_id=name, family=family, dtype="bfloat16")  # type: ignore[arg-type]
    return LoadedModel(name, spec, hf, tok, "random-init", device)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timed(device: str, fn) -> float:
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0


def _random_ids(tok, rows: int, length: int, seed: int) -> torch.Tensor:
    return torch.randint(3, len(tok), (rows, length), generator=torch.Generator().manual_seed(seed))


def bench_extract(model: LoadedModel, rows: int, length: int, reps: int) -> None:
    ids = _random_ids(model.tokenizer, rows, length, 0)
    mask, weights = torch.ones_like(ids), torch.full((rows, length), 1.0 / length)
    layers = list(range(model.n_layers))
    pooled_residuals(model, ids, mask, weights, layers)  # warm-up
    if model.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    seconds = _timed(model.device, lambda: [pooled_residuals(model, ids, mask, weights, layers) for _ in range(reps)])
    peak = torch.cuda.max_memory_allocated() / 2**30 if model.device.startswith("cuda") else float("nan")
    print(f"{model.alias} extract: {rows}x{length} tokens, {len(layers)} layers: "
          f"{rows * length * reps / seconds:,.0f} tokens/s, peak {peak:.1f} GiB")


def bench_steer(model: LoadedModel, new_tokens: int) -> None:
    prompts = _random_ids(model.tokenizer, 8, 48, 1).tolist()
    alphas = np.linspace(-20, 20, 32).tolist()
    rows = [SteeredRow(p, a, seed=p * 100 + k) for p in range(8) for k, a in enumerate(alphas)]
    v = torch.randn(model.d_model, generator=torch.Generator().manual_seed(2))
    steering = Steering(model.n_layers // 2, v / v.norm())
    sampling = Sampling(max_new_tokens=new_tokens, temperature=0.8, top_p=0.95)
    seconds = _timed(model.device, lambda: generate_steered(model, prompts, rows, steering, sampling))
    print(f"{model.alias} steer: {len(rows)} rows x {new_tokens} new tokens in {seconds:.1f} s: "
          f"{len(rows) * new_tokens / seconds:,.0f} tokens/s (upper bound: rows ending at EOS count in full)")


def _pairs(tok, length: int) -> tuple[ChoicePair, ChoicePair]:
    base = _random_ids(tok, 1, length, 3)[0].tolist()
    span, noise = (length // 3, length // 3 + 4), _random_ids(tok, 1, 4, 4)[0].tolist()
    orders = [base, base[:span[1]] + _random_ids(tok, 1, length - span[1], 5)[0].tolist()]
    out = []
    for k, clean in enumerate(orders):
        corrupt = clean[:span[0]] + noise + clean[span[1]:]
        out.append(ChoicePair("bench", k == 0, tuple(clean), tuple(corrupt), span))
    return out[0], out[1]


def bench_patch(model: LoadedModel, length: int) -> None:
    pairs = _pairs(model.tokenizer, length)
    engine = Engine(model)
    base = base_runs(engine, pairs, range(model.n_layers))
    rows = [[interchange(base, o, layer, [pos]) for layer in range(model.n_layers)
             for pos in (*range(*p.span), p.length - 1)] for o, p in enumerate(pairs)]
    fast = _timed(model.device, lambda: order_lds(engine, pairs, rows))
    slow = _timed(model.device, lambda: order_lds(Engine(model, batch_rows=1, reuse_prefix=False), pairs, rows))
    n = sum(len(r) for r in rows)
    print(f"{model.alias} patch: {n} interchanges over {length}-token prompts in {fast:.2f} s batched, "
          f"{slow:.2f} s one per pass; ratio_batched_vs_one_per_pass: {slow / fast:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scaled", action="store_true", help="shapes divided by 16, 4 layers, any device")
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    if not cuda and not args.scaled:
        print("gpu_shapes: needs CUDA (the real shapes are 8-9B parameters); nothing was run. "
              "`--scaled` checks the script on this machine.")
        return
    device = "cuda" if cuda else "cpu"
    for name in args.shapes:
        model = build(name, device, args.scaled)
        print(f"{name}: {sum(p.numel() for p in model.hf.parameters()) / 1e6:,.1f}M parameters, bfloat16, {device}")
        bench_extract(model, rows=2 if args.scaled else 16, length=64 if args.scaled else 512, reps=3)
        bench_steer(model, new_tokens=4 if args.scaled else 64)
        bench_patch(model, length=32 if args.scaled else 160)
        del model
        if cuda:
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
