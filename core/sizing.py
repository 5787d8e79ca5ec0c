"""Sizing from facts: a model's parameter count from its shape (params.yaml `models.<alias>.shape`, as in
its config.json), the bytes of its weights, KV cache and activations, how many GPUs a working set
needs, and where a second model (a judge) can go beside it.

GB is 10^9 bytes throughout, as GPU vendors count (an H100 has 80 GB, an H200 141 GB).
"""

from __future__ import annotations

import math
from typing import Literal

from core.specs import ModelShape

GB = 1e9
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
Placement = Literal["beside", "own_gpu", "after_model"]


def head_size(s: ModelShape) -> int:
    """Per-head dimension: the config's head_dim, else hidden / heads."""
    return s.head_dim or s.hidden // s.heads


def attention_params(s: ModelShape) -> int:
    """q, k, v and output projections of one block (grouped-query: k and v have kv_heads heads)."""
    q, kv = s.heads * head_size(s), s.kv_heads * head_size(s)
    return s.hidden * (q + 2 * kv) + q * s.hidden + ((q + 2 * kv) if s.qkv_bias else 0)


def mlp_params(s: ModelShape, experts: int) -> int:
    """Gated MLP (gate, up, down) of `experts` experts, plus the router of a mixture of experts."""
    return experts * 3 * s.hidden * s.intermediate + (s.hidden * s.experts if s.experts > 1 else 0)


def n_params(s: ModelShape, active: bool = False) -> int:
    """Parameters of the whole model; `active`: those one token runs through (a mixture's top-k)."""
    experts = s.active_experts if active else s.experts
    embeddings = s.vocab * s.hidden * (1 if s.tied_embeddings else 2)
    block = attention_params(s) + mlp_params(s, experts) + s.norms_per_layer * s.hidden
    return embeddings + s.layers * block + s.hidden  # + the final norm


def weight_bytes(s: ModelShape, dtype: str) -> int:
    """Bytes of the weights in `dtype` (the download and the GPU-resident copy)."""
    return n_params(s) * DTYPE_BYTES[dtype]


def kv_bytes_per_token(s: ModelShape, dtype: str) -> int:
    """KV cache of one token: a key and a value per layer per KV head."""
    return 2 * s.layers * s.kv_heads * head_size(s) * DTYPE_BYTES[dtype]


def activation_bytes_per_token(s: ModelShape, dtype: str) -> int:
    """Live tensors of one token inside one block of a no-grad forward (blocks run one after another, so
    only one block's are alive): residual and its norm, q/k/v and attention output, and the MLP's
    gate, up and product for each active expert."""
    q, kv = s.heads * head_size(s), s.kv_heads * head_size(s)
    return (2 * s.hidden + 2 * q + 2 * kv + 3 * s.intermediate * s.active_experts) * DTYPE_BYTES[dtype]


def forward_bytes(s: ModelShape, dtype: str, tokens: int) -> int:
    """GPU memory of a forward over `tokens` tokens at once: weights, one block's activations, and the
    KV of every layer (HF keeps it for the positions read afterwards)."""
    per_token = activation_bytes_per_token(s, dtype) + kv_bytes_per_token(s, dtype)
    return weight_bytes(s, dtype) + tokens * per_token


def generation_bytes(s: ModelShape, dtype: str, rows: int, tokens_per_row: int) -> int:
    """GPU memory of generating `rows` sequences of up to `tokens_per_row` tokens (prompt + new): the
    forward over the prompts plus float32 logits over the vocabulary for every row."""
    return forward_bytes(s, dtype, rows * tokens_per_row) + rows * s.vocab * 4


def backward_bytes(s: ModelShape, dtype: str, tokens: int) -> int:
    """A forward that keeps every block's activations for a gradient (attribution patching): the
    forward plus each layer's live tensors and their gradients."""
    return forward_bytes(s, dtype, tokens) + 2 * tokens * s.layers * activation_bytes_per_token(s, dtype)


def gpus_needed(need: float, gpu_bytes: float, headroom: float) -> int:
    """GPUs whose usable memory (headroom x each) holds `need` bytes split evenly (at least 1)."""
    return max(1, math.ceil(need / (gpu_bytes * headroom)))


def tensor_parallel(gpus: int, heads: int, kv_heads: int) -> int:
    """vLLM's tensor-parallel size for at least `gpus` GPUs: a power of two that divides the heads."""
    size = 1
    while size < gpus:
        size *= 2
    if heads % size or (kv_heads % size and size % kv_heads):
        raise ValueError(f"no tensor-parallel size >= {gpus} divides {heads} heads / {kv_heads} KV heads")
    return size


def judge_placement(model_need: float, judge_need: float, model_gpus: int, visible: int, gpu_bytes: float,
                    headroom: float) -> Placement:
    """Where a judge goes while a model of `model_need` bytes spans `model_gpus` GPUs of `visible`:
    beside it on its GPU if one has the room, else on a GPU the model does not use, else after the model
    is freed. The model is assumed split evenly (device_map="auto" balances it)."""
    usable = gpu_bytes * headroom
    if judge_need <= usable - model_need / model_gpus:
        return "beside"
    if visible > model_gpus and judge_need <= usable:
        return "own_gpu"
    return "after_model"


JUDGE_BATCH = 16  # texts the judge reads per forward (validate.batch_size's value; steering's judge the same)


def steering_needs(model: ModelShape, model_dtype: str, judge: ModelShape, judge_dtype: str, rows: int,
                   tokens_per_row: int) -> tuple[int, int]:
    """(bytes of the steered model generating `rows` rows, bytes of the judge scoring a batch of them)."""
    return (generation_bytes(model, model_dtype, rows, tokens_per_row),
            forward_bytes(judge, judge_dtype, JUDGE_BATCH * tokens_per_row))
