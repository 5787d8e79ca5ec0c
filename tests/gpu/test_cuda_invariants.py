"""GPU invariants of the engine (issue 11, item 12), for every tiny family on the test device.

In float32 and bfloat16: padding invariance of pooled residuals, batched patching = one forward per
intervention, batched alphas = one alpha at a time (first-step logits), and the prefix-shared judge =
a manual gather of the digit logits at each full prompt's last position. In float32 only (tiny_fp32):
the same batched steered generations compared token for token, and seeded sampled rows that keep their
tokens when the rows around them change. Errors are relative (||a - b|| / ||b||): the random-init
models' activations are ~0.02 in size, so an absolute tolerance of bfloat16's size would pass anything.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from analyses.causal.runs import Engine, base_runs, interchange, order_lds, set_projection, steer
from core.data.prompts import ChoicePair, prompt_ids
from core.models.capture import pooled_residuals
from core.models.scoring import _judge_parts, judge_scores, steered_last_logits
from core.models.steer import Sampling, SteeredRow, Steering, generate_steered
from core.models.text import collate, encode
from core.raters.judge import JudgeItem, digit_ids

pytestmark = pytest.mark.gpu
# measured on the CPU in bfloat16: up to 1.2e-2 (phi3 patching); a wrong row, position or edit is off by O(1)
RELATIVE = {torch.float32: 1e-4, torch.bfloat16: 5e-2}
TEXTS = [("What do you do?", "I stop and ask whether she is all right."), ("Next?", "Done."),
         ("A child is crying at the bus stop. What do you do?",
          "I kneel down, ask her name and whether she knows her way home, then wait with her.")]
PROMPTS = ["A man drops his wallet on the tram platform. What do you do?",
           "You are a delivery robot with nothing left to deliver. A child is crying at the bus stop. What now?"]
RUBRIC = {"0": "Ignores the man.", "1": "Notices the man.", "2": "Helps the man with care."}


def assert_relative(got, want, dtype: torch.dtype, scale: float = 1.0) -> None:
    got, want = torch.as_tensor(got, dtype=torch.float64), torch.as_tensor(want, dtype=torch.float64)
    err, limit = float((got - want).norm() / want.norm().clamp(min=1e-12)), RELATIVE[dtype] * scale
    assert err <= limit, f"relative error {err:.2e} above {limit:.0e}"


def steering_for(model, layer: int | None = None, positions: str = "response") -> Steering:
    v = torch.randn(model.d_model, generator=torch.Generator().manual_seed(0))
    return Steering(model.n_layers // 2 if layer is None else layer, v / v.norm(), positions)  # type: ignore[arg-type]


def synthetic_pairs(tokenizer) -> tuple[ChoicePair, ChoicePair]:
    """Two option orders of one forced choice; the corrupt run replaces three scene tokens by fixed random
    ids, so clean and corrupt are token-aligned by construction (no dataset on the GPU machine)."""
    orders = [prompt_ids(tokenizer, f"A man drops his wallet on the tram platform. Which do you do? {o} "
                                    "Answer with A or B.") for o in ("(A) help him (B) walk on",
                                                                     "(A) walk on (B) help him")]
    span = (6, 9)  # inside the scene, before the options: both orders share it and what precedes it
    noise = torch.randint(3, len(tokenizer), (3,), generator=torch.Generator().manual_seed(1)).tolist()
    pairs = []
    for k, clean in enumerate(orders):
        corrupt = list(clean)
        corrupt[span[0]:span[1]] = noise
        pairs.append(ChoicePair("synthetic_01", k == 0, tuple(clean), tuple(corrupt), span))
    assert pairs[0].clean_ids[:span[1]] == pairs[1].clean_ids[:span[1]]
    return pairs[0], pairs[1]


def patching_rows(model, base, pairs) -> list[list]:
    """Per order: an interchange at every layer (span start and last token), a direction-only patch and
    a steering row at the middle layer; rows above block 0 skip the blocks below their edit."""
    v = steering_for(model).direction
    mid = model.n_layers // 2
    return [[*(interchange(base, o, layer, [p.span[0], p.length - 1]) for layer in range(model.n_layers)),
             set_projection(base, o, mid, list(range(*p.span)), v), steer(base, o, mid, list(range(*p.span)), v, 3.0)]
            for o, p in enumerate(pairs)]


def test_right_padding_leaves_each_pooled_text_unchanged(tiny_on_device):
    model, dtype = tiny_on_device
    items = [encode(model.tokenizer, p, r, "response_mean", True, 256) for p, r in TEXTS]
    pad, layers = model.tokenizer.pad_token_id, list(range(model.n_layers))
    batched = pooled_residuals(model, *collate(items, pad), layers)
    assert len({len(i.ids) for i in items}) == len(items)  # every row but the longest is padded
    for row, item in enumerate(items):
        assert_relative(batched[:, row], pooled_residuals(model, *collate([item], pad), layers)[:, 0], dtype)


def test_batched_patching_equals_one_forward_per_intervention(tiny_on_device):
    model, dtype = tiny_on_device
    pairs = synthetic_pairs(model.tokenizer)
    engine = Engine(model)
    base = base_runs(engine, pairs, range(model.n_layers))
    rows = patching_rows(model, base, pairs)
    assert any(r.start for r in rows[0])
    fast, _ = order_lds(engine, pairs, rows)
    slow, _ = order_lds(Engine(model, batch_rows=1, reuse_prefix=False), pairs, rows)
    assert_relative(np.concatenate(fast), np.concatenate(slow), dtype)
    assert np.ptp(np.concatenate(slow)) > 0  # the interventions change the logit difference


def test_batched_alphas_equal_one_alpha_at_a_time_logits(tiny_on_device):
    model, dtype = tiny_on_device
    ids = [prompt_ids(model.tokenizer, p) for p in PROMPTS]
    letters = digit_ids(model.tokenizer)
    for positions in ("response", "all"):
        steering = steering_for(model, positions=positions)
        rows = [SteeredRow(p, a) for p in (0, 1) for a in (-6.0, 0.0, 6.0)]
        batched, _ = steered_last_logits(model, ids, rows, steering, letters)
        alone = np.concatenate([steered_last_logits(model, ids, [r], steering, letters)[0] for r in rows])
        assert_relative(batched, alone, dtype)
        assert not np.allclose(alone[0], alone[2])  # alpha moves the logits


def test_judge_equals_a_manual_gather_at_each_full_prompts_last_token(tiny_on_device):
    model, dtype = tiny_on_device
    tok = model.tokenizer
    items = [JudgeItem("A man drops his wallet.", RUBRIC, "I pick it up and run after him."),
             JudgeItem("A man drops his wallet.", RUBRIC, "I keep walking."),
             JudgeItem("A dog is lost in the rain.", RUBRIC, "")]
    got = judge_scores(model, items)
    want = []
    for item in items:
        head, tail = _judge_parts(tok, item.situation, item.rubric)
        ids = torch.tensor([head + tok.encode(item.text, add_special_tokens=False) + tail], device=model.device)
        with torch.inference_mode():
            logits = model.hf(input_ids=ids).logits[0, -1, digit_ids(tok)].float().cpu()
        want.append(float(torch.softmax(logits, -1) @ torch.tensor([0.0, 1.0, 2.0])))
    # scores sit near 1 on a random model: compare their deviations from 1, the part a wrong gather changes;
    # those are small differences of softmaxes (2.4e-2 relative in bfloat16 on the CPU for phi3), hence 3x
    assert_relative(np.asarray(got) - 1.0, np.asarray(want) - 1.0, dtype, scale=3.0)


def test_batched_alphas_equal_one_alpha_at_a_time_tokens(tiny_fp32):
    ids = [prompt_ids(tiny_fp32.tokenizer, p) for p in PROMPTS]
    for positions in ("response", "all"):
        steering = steering_for(tiny_fp32, positions=positions)
        rows = [SteeredRow(p, a) for p in (0, 1) for a in (-6.0, 0.0, 6.0)]
        batched = generate_steered(tiny_fp32, ids, rows, steering, Sampling(max_new_tokens=8))
        for row, got in zip(rows, batched, strict=True):
            assert got == generate_steered(tiny_fp32, ids, [row], steering, Sampling(max_new_tokens=8))[0]


def test_seeded_rows_keep_their_tokens_when_the_batch_changes(tiny_fp32):
    ids = [prompt_ids(tiny_fp32.tokenizer, p) for p in PROMPTS]
    steering, sampling = steering_for(tiny_fp32), Sampling(max_new_tokens=8, temperature=0.8, top_p=0.9)
    rows = [SteeredRow(p, a, seed=100 + 10 * p + k) for p in (0, 1) for k, a in enumerate((-4.0, 0.0, 4.0))]
    full = generate_steered(tiny_fp32, ids, rows, steering, sampling)
    other = [rows[4], SteeredRow(0, 2.0, seed=7), rows[1], SteeredRow(1, -2.0, seed=8)]  # new order, new neighbours
    again = generate_steered(tiny_fp32, ids, other, steering, sampling)
    assert again[0] == full[4] and again[2] == full[1]
    assert len({tuple(t) for t in full}) > 1  # seeds and alphas do make rows differ
