"""The rubric judge: digit read-out at each row's last token, batch-invariant, valid probabilities."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from core.config import ModelSpec
from core.raters.judge import JudgeItem, digit_ids, expected, render, score

RUBRIC = {"0": "ignores the person", "1": "notices them briefly", "2": "helps them with care"}
ITEMS = [JudgeItem("A child is lost in a mall.", RUBRIC, "I walk past."),
         JudgeItem("A child is lost in a mall.", RUBRIC, "I kneel, ask her name and walk her to the info desk, "
                                                         "staying until her father arrives."),
         JudgeItem("A man drops his wallet.", RUBRIC, "I pick it up and run after him.")]


@pytest.fixture(scope="module")
def tiny_llama():
    from core.models.loader import load_model

    return load_model("tiny-llama", ModelSpec(source="tiny", hf_id="tiny-llama", family="llama"))


def test_prompt_holds_scenario_rubric_and_response(tiny_llama):
    text = render(tiny_llama.tokenizer, ITEMS[1])
    for part in ("lost in a mall", "helps them with care", "info desk", "Answer 0, 1 or 2"):
        assert part in text
    assert text.endswith("<|im_start|>assistant\n")
    assert len(set(digit_ids(tiny_llama.tokenizer))) == 3


def test_probabilities_are_valid_and_batch_invariant(tiny_llama):
    batched = score(tiny_llama, ITEMS, batch_size=3)
    single = np.concatenate([score(tiny_llama, [it], batch_size=1) for it in ITEMS])
    assert batched.shape == (3, 3) and np.allclose(batched.sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(batched, single, atol=1e-5)
    assert ((expected(batched) >= 0) & (expected(batched) <= 2)).all()


class _Planted(torch.nn.Module):
    """Logits that favour '2' at each row's last real token and '0' everywhere else."""

    def __init__(self, ids):
        super().__init__()
        self.ids, self.device = ids, torch.device("cpu")
        self.model = torch.nn.Module()
        self.model.norm = torch.nn.LayerNorm(4)  # where the engine looks for the device of the last hidden state

    def forward(self, input_ids, attention_mask, use_cache, logits_to_keep):
        logits = torch.zeros(*input_ids.shape, 64)
        logits[..., self.ids[0]] = 5.0
        last = attention_mask.sum(dim=1) - 1
        logits[torch.arange(len(last)), last, self.ids[0]] = 0.0
        logits[torch.arange(len(last)), last, self.ids[2]] = 5.0
        # like HF: a [batch, k] position tensor keeps those positions of each row (5.23+); a 1-D one
        # keeps the same positions in every row (5.20)
        if logits_to_keep.ndim == 2:
            return SimpleNamespace(logits=torch.take_along_dim(logits, logits_to_keep[..., None], dim=1))
        return SimpleNamespace(logits=logits[:, logits_to_keep])


def test_score_reads_the_last_real_token(tiny_llama):
    ids = digit_ids(tiny_llama.tokenizer)
    fake = SimpleNamespace(tokenizer=tiny_llama.tokenizer, hf=_Planted(ids), device="cpu", spec=tiny_llama.spec)
    probs = score(fake, ITEMS, batch_size=3)  # different lengths: padding is in play
    assert (probs.argmax(axis=1) == 2).all()
    assert np.allclose(expected(probs), 2 * np.exp(5) / (np.exp(5) + 2) + 1 / (np.exp(5) + 2))
