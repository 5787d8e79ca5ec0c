"""A model split over two devices (issue 11, item 2): pooled residuals, steering and patching on a tiny
model whose embeddings, first blocks and LM head sit on cuda:0 and whose other blocks and final norm
sit on the CPU, against the same weights on cuda:0 alone (float32).

The split is accelerate's `dispatch_model` with `main_device="cpu"`, so the CPU blocks really compute
on the CPU (with a GPU main device, accelerate would offload them and compute them on the GPU); this is
how every op meeting a layer output on another device (pooling weights, steering deltas, patched values,
cache indices) is exercised. It needs CUDA, so the CPU run of the tier (EIA_TEST_DEVICE=cpu) skips it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from analyses.causal.runs import Engine, base_runs, order_lds
from core.config import ModelSpec
from core.data.prompts import prompt_ids
from core.models.capture import pooled_residuals
from core.models.loader import LoadedModel, load_model
from core.models.scoring import steered_last_logits
from core.models.steer import Sampling, SteeredRow, generate_steered
from core.models.text import collate, encode
from core.raters.judge import digit_ids
from tests.conftest import FAMILIES
from tests.gpu.test_cuda_invariants import (
    PROMPTS,
    TEXTS,
    assert_relative,
    patching_rows,
    steering_for,
    synthetic_pairs,
)

pytestmark = pytest.mark.gpu


def _split(family: str) -> LoadedModel:
    """The tiny model with blocks [0, n/2) on cuda:0 and [n/2, n) on the CPU (embeddings and LM head on
    cuda:0, which also keeps tied weights on one device)."""
    from accelerate import dispatch_model

    model = load_model(f"tiny-{family}", ModelSpec(source="tiny", hf_id=f"tiny-{family}", family=family), "cpu")
    n = model.n_layers
    device_map: dict[str, int | str] = {"model.embed_tokens": 0, "model.rotary_emb": 0, "model.norm": "cpu",
                                        "lm_head": 0}
    device_map.update({f"model.layers.{i}": 0 if i < (n + 1) // 2 else "cpu" for i in range(n)})
    names = {name for name, _ in model.hf.named_children()} | {f"model.{k}" for k, _ in
                                                               model.hf.model.named_children()}
    device_map = {k: v for k, v in device_map.items() if k in names or k.startswith("model.layers.")}
    model.hf = dispatch_model(model.hf, device_map, main_device="cpu",
                              skip_keys=getattr(model.hf, "_skip_keys_device_placement", None))
    model.device = "cuda:0"  # where inputs and per-row tensors are made, as after a device-map load
    return model


@pytest.fixture(scope="module", params=FAMILIES)
def split_and_single(request):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA: the two-device split puts blocks on cuda:0 and on the CPU")
    family = request.param
    single = load_model(f"tiny-{family}", ModelSpec(source="tiny", hf_id=f"tiny-{family}", family=family), "cuda")
    split = _split(family)
    devices = {str(p.device) for p in split.hf.parameters()}
    assert devices == {"cuda:0", "cpu"}, devices
    return split, single


def test_pooled_residuals_agree_across_the_split(split_and_single):
    split, single = split_and_single
    items = [encode(single.tokenizer, p, r, "response_mean", True, 256) for p, r in TEXTS]
    batch = collate(items, single.tokenizer.pad_token_id)
    layers = list(range(single.n_layers))
    assert_relative(pooled_residuals(split, *batch, layers), pooled_residuals(single, *batch, layers), torch.float32)


def test_steering_agrees_across_the_split(split_and_single):
    split, single = split_and_single
    ids = [prompt_ids(single.tokenizer, p) for p in PROMPTS]
    rows = [SteeredRow(p, a, seed=3 + p) for p in (0, 1) for a in (-6.0, 0.0, 6.0)]
    for positions in ("response", "all"):
        for layer in (0, single.n_layers - 1):  # a block on cuda:0, a block on the CPU
            steering = steering_for(single, layer, positions)
            got, _ = steered_last_logits(split, ids, rows, steering, digit_ids(single.tokenizer))
            want, _ = steered_last_logits(single, ids, rows, steering, digit_ids(single.tokenizer))
            assert_relative(got, want, torch.float32)
            for sampling in (Sampling(max_new_tokens=6), Sampling(max_new_tokens=6, temperature=0.8, top_p=0.9)):
                assert generate_steered(split, ids, rows, steering, sampling) == \
                    generate_steered(single, ids, rows, steering, sampling)


def test_patching_agrees_across_the_split(split_and_single):
    split, single = split_and_single
    pairs = synthetic_pairs(single.tokenizer)
    lds = []
    for model in (split, single):
        engine = Engine(model)
        base = base_runs(engine, pairs, range(model.n_layers))
        lds.append(np.concatenate(order_lds(engine, pairs, patching_rows(model, base, pairs))[0]))
    assert_relative(lds[0], lds[1], torch.float32)
