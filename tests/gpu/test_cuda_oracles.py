"""The first GPU tests (`make test-gpu`, `-m gpu`): the layer oracle and steering at alpha = 0 on CUDA,
for every tiny family, in float32 and bfloat16. EIA_TEST_DEVICE=cpu runs the same tests on the CPU
(`pytest -m gpu tests/gpu` with that variable), which is how they are checked on a machine without CUDA.
"""

from __future__ import annotations

import pytest
import torch

from core.data.prompts import prompt_ids
from core.models.capture import residual_stream
from core.models.families import FAMILIES, get_path
from core.models.steer import Sampling, SteeredRow, Steering, cut_at_eos, generate_steered
from core.models.text import collate, encode
from tests.gpu.conftest import DEVICE, TOLERANCE

pytestmark = pytest.mark.gpu


def test_layer_l_is_hf_hidden_states_l_plus_1(tiny_on_device):
    model, dtype = tiny_on_device
    texts = ["I stop and ask whether she is all right.", "Done. Next delivery."]
    items = [encode(model.tokenizer, "What do you do?", t, "response_mean", True, 256) for t in texts]
    ids, mask, _ = collate(items, model.tokenizer.pad_token_id)
    layers = list(range(model.n_layers))
    ours = residual_stream(model, ids, mask, layers)
    with torch.inference_mode():
        ref = model.hf(input_ids=ids.to(DEVICE), attention_mask=mask.to(DEVICE), output_hidden_states=True)
    tol = TOLERANCE[dtype]
    for layer in layers[:-1]:
        torch.testing.assert_close(ours[layer], ref.hidden_states[layer + 1].float().cpu(), rtol=tol, atol=tol)
    norm = get_path(model.hf, FAMILIES[model.spec.family].final_norm_path)
    with torch.inference_mode():
        last = norm(ours[-1].to(DEVICE, dtype)).float().cpu()
    torch.testing.assert_close(last, ref.hidden_states[-1].float().cpu(), rtol=tol, atol=tol)


def test_steering_at_alpha_zero_is_greedy_decoding(tiny_on_device):
    model, _ = tiny_on_device
    prompt = prompt_ids(model.tokenizer, "A man drops his wallet on the tram platform. What do you do?")
    v = torch.randn(model.d_model, generator=torch.Generator().manual_seed(0))
    steering = Steering(model.n_layers // 2, v / v.norm())
    out = generate_steered(model, [prompt], [SteeredRow(0, 0.0)], steering, Sampling(max_new_tokens=8))
    x = torch.tensor([prompt], device=DEVICE)
    with torch.inference_mode():
        plain = model.hf.generate(x, attention_mask=torch.ones_like(x), do_sample=False, max_new_tokens=8,
                                  pad_token_id=model.tokenizer.pad_token_id)
    assert out[0] == cut_at_eos(plain[0, len(prompt):].tolist(), model.tokenizer.eos_token_id)
