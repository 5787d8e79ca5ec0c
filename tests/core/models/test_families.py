"""Per-family facts: Gemma-2 runs eager attention, the only implementation that applies its attention
logit soft-capping (issue 11.5). transformers 5.20 (the GPU image's) picks sdpa for Gemma-2 by default
and sdpa silently drops the cap; 5.24 defaults to eager and refuses sdpa with a cap."""

from __future__ import annotations

import torch
import transformers

from core.config import ModelSpec
from core.models.families import FAMILIES
from core.models.loader import load_model
from core.models.tiny import build_tiny, tiny_config

IDS = torch.tensor([[1, 3690, 314, 260, 1345, 28, 338, 253, 1165, 30]])


def _gemma2(softcap: float | None) -> torch.nn.Module:
    config = tiny_config("gemma2")
    config.attn_logit_softcapping = softcap
    torch.manual_seed(0)
    return transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32,
                                                         attn_implementation="eager").eval()


def _logits(model: torch.nn.Module, implementation: str) -> torch.Tensor:
    # switched on the config the attention layers read at every forward: the same weights both ways
    # (5.24 refuses sdpa for Gemma-2 through the public setter; 5.20 chooses it by default)
    model.config._attn_implementation = implementation
    with torch.inference_mode():
        return model(input_ids=IDS).logits


def test_sdpa_does_not_apply_gemma2_attention_softcapping():
    capped = _gemma2(softcap=1e-3)  # a cap far below the scores: eager attention becomes uniform
    eager = _logits(capped, "eager")
    try:
        sdpa = _logits(capped, "sdpa")
    except ValueError as exc:  # transformers 5.24: sdpa refuses a soft-cap
        assert "softcap" in str(exc)
    else:  # transformers 5.20: sdpa silently drops it
        assert not torch.allclose(eager, sdpa, atol=1e-4)
    plain = _gemma2(softcap=None)  # no cap: the two implementations agree, so the cap is the difference
    torch.testing.assert_close(_logits(plain, "eager"), _logits(plain, "sdpa"), rtol=1e-4, atol=1e-4)


def test_gemma2_is_loaded_with_eager_attention(tmp_path):
    assert FAMILIES["gemma2"].attn_implementation == "eager"
    model, tok = build_tiny("gemma2")
    assert model.config._attn_implementation == "eager"
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    hub = ModelSpec(source="hub", hf_id=str(tmp_path), revision="main", family="gemma2", dtype="float32")
    assert load_model("gemma2", hub).hf.config._attn_implementation == "eager"  # the hub path too


def test_other_families_keep_the_default_attention():
    assert all(f.attn_implementation is None for name, f in FAMILIES.items() if name != "gemma2")
    assert build_tiny("llama")[0].config._attn_implementation == "sdpa"
