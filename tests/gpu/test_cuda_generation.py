"""GPU checks of issue 11 items 3-5 (`-m gpu`): on CUDA, steered generation and the HF generation backend
stop and cut at a second end-of-turn id for every tiny family, and Gemma-2 runs eager attention, which
differs from sdpa when the soft-cap binds. EIA_TEST_DEVICE=cpu runs the same tests on the CPU.
"""

from __future__ import annotations

import os

import pytest
import torch

from core.config import ModelSpec
from core.data.prompts import prompt_ids
from core.models.generation import Sampling, chat_ids, generate_batch
from core.models.loader import load_model
from core.models.steer import SteeredRow, Steering, generate_steered
from tests.conftest import FAMILIES
from tests.core.models.test_steer import second_eos_case

pytestmark = pytest.mark.gpu
DEVICE = os.environ.get("EIA_TEST_DEVICE", "cuda")
PROMPT = "A man drops his wallet on the tram platform. What do you do?"


def _tiny(family: str):
    if DEVICE == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device")  # `make test-gpu` does not reach this: it says so and exits 0
    return load_model(f"tiny-{family}", ModelSpec(source="tiny", hf_id=f"tiny-{family}", family=family), DEVICE)


@pytest.fixture(scope="module", params=FAMILIES)
def tiny_on_device(request):
    return _tiny(request.param)


def test_generation_stops_at_a_second_end_of_turn_id(tiny_on_device):
    model = tiny_on_device
    prompt = prompt_ids(model.tokenizer, PROMPT)
    k, free = second_eos_case(model, prompt)
    model.hf.generation_config.eos_token_id = [model.tokenizer.eos_token_id, free[k]]
    v = torch.randn(model.d_model, generator=torch.Generator().manual_seed(0))
    steered = generate_steered(model, [prompt], [SteeredRow(0, 0.0)], Steering(1, v / v.norm()),
                               Sampling(max_new_tokens=10))
    chat = chat_ids(model.tokenizer, "Be brief.", PROMPT)
    k2, free2 = second_eos_case(model, chat)
    model.hf.generation_config.eos_token_id = [model.tokenizer.eos_token_id, free2[k2]]
    _, n, ended = generate_batch(model.hf, model.tokenizer, [chat], Sampling(max_new_tokens=10), seed=0)[0]
    assert steered[0] == free[:k] and (n, ended) == (k2, True)


def test_gemma2_runs_eager_attention_on_device():
    model = _tiny("gemma2")
    assert model.hf.config._attn_implementation == "eager"
    for layer in model.layer_modules():
        layer.self_attn.attn_logit_softcapping = 1e-3  # a cap that binds
    x = torch.tensor([prompt_ids(model.tokenizer, PROMPT)], device=DEVICE)
    with torch.inference_mode():
        eager = model.hf(input_ids=x).logits
        model.hf.config._attn_implementation = "sdpa"
        try:
            sdpa = model.hf(input_ids=x).logits
        except ValueError as exc:  # transformers 5.24 refuses sdpa with a soft-cap
            assert "softcap" in str(exc)
        else:  # 5.20 (the GPU image's) silently drops it
            assert not torch.allclose(eager, sdpa, atol=1e-4)
