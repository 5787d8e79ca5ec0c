"""Oracles for the prefix-shared scoring forwards: perplexity, judge, steered logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.data.prompts import prompt_ids
from core.models.scoring import (
    _judge_parts,
    continuation_nll,
    forced_choice_text,
    judge_scores,
    steered_last_logits,
)
from core.models.steer import SteeredRow, Steering
from core.raters.judge import JudgeItem, digit_ids

RUBRIC = {"0": "Ignores the man and keeps walking.", "1": "Points at the wallet but keeps going.",
          "2": "Picks up the wallet and runs after the man to return it."}


def _full_logits(model, ids):
    with torch.inference_mode():
        return model.hf(torch.tensor([ids])).logits[0].float()


def test_continuation_nll_equals_a_full_forward(tiny):
    tok = tiny.tokenizer
    prompts = [prompt_ids(tok, "Short prompt?"), prompt_ids(tok, "A somewhat longer prompt about a lost dog. Now?")]
    conts = [tok.encode(" I help.", add_special_tokens=False), tok.encode(" No.", add_special_tokens=False), []]
    got = continuation_nll(tiny, prompts, conts, [1, 0, 0])
    for row, (p, c) in enumerate(zip([1, 0], conts[:2], strict=True)):
        logits = _full_logits(tiny, prompts[p] + c)
        logp = torch.log_softmax(logits[len(prompts[p]) - 1:-1], dim=-1)
        want = float(-logp.gather(-1, torch.tensor(c)[:, None]).mean())
        assert got[row] == pytest.approx(want, rel=1e-4)
    assert np.isnan(got[2])  # an empty generation has no perplexity


def test_judge_equals_full_prompt_softmax(tiny):
    tok = tiny.tokenizer
    items = [JudgeItem("A man drops his wallet.", RUBRIC, "I pick it up and run after him."),
             JudgeItem("A man drops his wallet.", RUBRIC, "I keep walking."),
             JudgeItem("A dog is lost.", RUBRIC, "")]
    got = judge_scores(tiny, items)
    for item, value in zip(items, got, strict=True):
        head, tail = _judge_parts(tok, item.situation, item.rubric)
        ids = head + tok.encode(item.text, add_special_tokens=False) + tail
        probs = torch.softmax(_full_logits(tiny, ids)[-1, digit_ids(tok)], dim=-1).numpy()
        assert value == pytest.approx(float(probs @ np.array([0.0, 1.0, 2.0])), rel=1e-4)
        assert 0.0 <= value <= 2.0


def test_steered_logits_at_alpha_zero_equal_the_plain_forward(tiny):
    tok = tiny.tokenizer
    ids = [prompt_ids(tok, "Pick (A) or (B)."), prompt_ids(tok, "A longer question: pick (A) or (B), please.")]
    steering = Steering(1, torch.nn.functional.normalize(torch.ones(tiny.d_model), dim=0))
    letters = [tok.encode("A", add_special_tokens=False)[0], tok.encode("B", add_special_tokens=False)[0]]
    for positions in ("response", "all"):
        rows = [SteeredRow(0, 0.0), SteeredRow(1, 0.0), SteeredRow(1, 5.0)]
        logits, _ = steered_last_logits(tiny, ids, rows, Steering(1, steering.direction, positions), letters)
        for row, p in enumerate([0, 1]):
            np.testing.assert_allclose(logits[row], _full_logits(tiny, ids[p])[-1, letters].numpy(), rtol=1e-4,
                                       atol=1e-4)
        assert not np.allclose(logits[2], logits[1])


def test_forced_choice_text_orders_options():
    from core.data.schema import ForcedChoice, Instance, MinimalPair

    inst = Instance(instance_id="x_01", family="x", situation="S.", forced_choice=ForcedChoice(
        question="Q?", empathic_option="help", task_option="work", empathic_first=False),
        minimal_pair=MinimalPair(template="{event}.", cue="c", neutral="n"))
    assert forced_choice_text(inst) == "S.\n\nQ?\n(A) work\n(B) help\nAnswer with A or B."
    assert "(A) help\n(B) work" in forced_choice_text(inst, empathic_first=True)
