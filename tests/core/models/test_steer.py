"""Invariants of batched steered generation (issue 6, item 8)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.data.prompts import prompt_ids
from core.models import engine
from core.models.scoring import steered_last_logits
from core.models.steer import RowSampler, Sampling, SteeredRow, Steering, cut_at_eos, generate_steered

PROMPTS = ["A man drops his wallet on the tram platform. What do you do?",
           "You are a delivery robot with nothing left to deliver today. A child is crying at the bus stop "
           "because she missed her bus home. What do you do?"]


def _setup(model, layer=None, seed=0):
    ids = [prompt_ids(model.tokenizer, p) for p in PROMPTS]
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(model.d_model, generator=g)
    layer = model.n_layers // 2 if layer is None else layer
    return ids, Steering(layer, v / v.norm())


def _plain_greedy(model, ids, n):
    x = torch.tensor([ids])
    with torch.inference_mode():
        out = model.hf.generate(x, attention_mask=torch.ones_like(x), do_sample=False, max_new_tokens=n,
                                pad_token_id=model.tokenizer.pad_token_id)
    return cut_at_eos(out[0, len(ids):].tolist(), model.tokenizer.eos_token_id)


@pytest.mark.parametrize("positions", ["response", "all"])
def test_alpha_zero_equals_unsteered_greedy(tiny, positions):
    ids, steering = _setup(tiny)
    steering = Steering(steering.layer, steering.direction, positions)
    rows = [SteeredRow(0, 0.0), SteeredRow(1, 0.0), SteeredRow(1, 4.0)]
    out = generate_steered(tiny, ids, rows, steering, Sampling(max_new_tokens=8))
    assert out[0] == _plain_greedy(tiny, ids[0], 8)
    assert out[1] == _plain_greedy(tiny, ids[1], 8)


@pytest.mark.slow
def test_alpha_zero_equals_unsteered_greedy_embedded(embedded):
    ids, steering = _setup(embedded, layer=18)
    rows = [SteeredRow(0, 0.0), SteeredRow(1, 0.0), SteeredRow(0, 80.0)]
    out = generate_steered(embedded, ids, rows, steering, Sampling(max_new_tokens=12))
    assert out[0] == _plain_greedy(embedded, ids[0], 12) and out[1] == _plain_greedy(embedded, ids[1], 12)
    assert out[2] != out[0]  # the direction does something at alpha = 80


@pytest.mark.parametrize(("positions", "temperature"), [("response", 0.0), ("response", 0.8), ("all", 0.0)])
def test_batched_row_equals_same_alpha_alone(tiny, positions, temperature):
    """Rows of two prompts of different lengths (left padding) and several alphas, one call, equal
    the same rows run one at a time: position ids, per-row alphas and per-row seeds are right."""
    ids, steering = _setup(tiny)
    steering = Steering(steering.layer, steering.direction, positions)
    assert len(ids[0]) != len(ids[1])
    rows = [SteeredRow(p, a, seed=11 + p) for p in (0, 1) for a in (-6.0, 0.0, 6.0)]
    sampling = Sampling(max_new_tokens=6, temperature=temperature, top_p=0.9)
    batched = generate_steered(tiny, ids, rows, steering, sampling)
    for row, got in zip(rows, batched, strict=True):
        assert got == generate_steered(tiny, ids, [row], steering, sampling)[0]


def test_projection_on_direction_rises_with_alpha(tiny):
    """At the steered layer the projection is exactly base + alpha; downstream it still rises."""
    ids, steering = _setup(tiny, layer=0)
    alphas = [-8.0, -2.0, 0.0, 2.0, 8.0]
    rows = [SteeredRow(0, a) for a in alphas]
    last = tiny.n_layers - 1
    _, reads = steered_last_logits(tiny, ids, rows, steering, [0], read_layers=(0, last))
    v = steering.direction.numpy().astype(np.float64)
    proj = {layer: reads[layer] @ v for layer in (0, last)}
    np.testing.assert_allclose(proj[0] - proj[0][2], alphas, atol=1e-3)
    assert np.all(np.diff(proj[last]) > 0)


@pytest.mark.slow
def test_projection_rises_with_alpha_embedded(embedded):
    ids, steering = _setup(embedded, layer=18)
    alphas = [-20.0, -10.0, 0.0, 10.0, 20.0]
    rows = [SteeredRow(1, a) for a in alphas]
    _, reads = steered_last_logits(embedded, ids, rows, steering, [0], read_layers=(18, 24))
    v = steering.direction.numpy().astype(np.float64)
    np.testing.assert_allclose(reads[18] @ v - (reads[18] @ v)[2], alphas, atol=1e-2)
    assert np.all(np.diff(reads[24] @ v) > 0)


def test_row_sampler_is_per_row_and_nucleus_is_respected():
    torch.manual_seed(0)
    scores = torch.randn(3, 50)
    a = RowSampler([1, 2, 3], 1.0, 1.0)(None, scores.clone())  # type: ignore[arg-type]
    b = RowSampler([2], 1.0, 1.0)(None, scores[1:2].clone())  # type: ignore[arg-type]
    assert torch.equal(a.argmax(-1)[1:2], b.argmax(-1))  # row 1's draw ignores the other rows
    assert torch.isfinite(a).sum(-1).tolist() == [1, 1, 1]
    tiny_p = RowSampler([5, 6, 7], 1.0, 1e-6)(None, scores.clone())  # type: ignore[arg-type]
    assert torch.equal(tiny_p.argmax(-1), scores.argmax(-1))  # top-p -> 0 keeps only the top token


def second_eos_case(model, prompt, n=10):
    """(k, free): greedy tokens with no end of turn at all, and the first position k whose token has not
    appeared before it (a second end-of-turn id there must stop generation after k tokens)."""
    x = torch.tensor([prompt], device=model.device)
    with torch.inference_mode():
        out = model.hf.generate(x, attention_mask=torch.ones_like(x), do_sample=False, max_new_tokens=n,
                                eos_token_id=None, pad_token_id=model.tokenizer.pad_token_id)
    free = cut_at_eos(out[0, len(prompt):].tolist(), model.tokenizer.eos_token_id)
    k = next((i for i in range(1, len(free)) if free[i] not in free[:i]), 0)
    return k, free


def test_steering_stops_and_is_cut_at_a_second_end_of_turn_id(tiny):
    ids, steering = _setup(tiny)
    k, free = second_eos_case(tiny, ids[0])
    config = tiny.hf.generation_config
    saved = config.eos_token_id
    config.eos_token_id = [tiny.tokenizer.eos_token_id, free[k]]  # like Phi-3's <|end|>, Gemma-2's 107
    try:
        out = generate_steered(tiny, ids, [SteeredRow(0, 0.0)], steering, Sampling(max_new_tokens=10))
        x = torch.tensor([ids[0]])
        zero = torch.zeros(1, 1, tiny.d_model)
        full = engine.generate_added(tiny, x, torch.ones_like(x), steering.layer, zero, 10)
    finally:
        config.eos_token_id = saved
    assert out[0] == free[:k]  # cut before the second id
    assert full.shape[1] == len(ids[0]) + k + 1  # and generation stopped there (one row: nothing pads it)
