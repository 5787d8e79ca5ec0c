"""Tiny random-init models of every supported family, for offline tests of each adapter path.

They share one small byte-level BPE tokenizer with a chat template, built in code
(core/models/tiny_tokenizer.py), so text handling is exercised and nothing comes from the embedded wheel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import transformers

from core.models.families import FAMILIES

_COMMON = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
               num_key_value_heads=2, max_position_embeddings=1024)
_EXTRA: dict[str, dict[str, Any]] = {
    "gemma2": dict(head_dim=16, query_pre_attn_scalar=16, sliding_window=512),
    "mixtral": dict(num_local_experts=4, num_experts_per_tok=2),
    # sliding-window and global layers, tied embeddings scaled by sqrt(d), as in Gemma-3-270M. The window
    # covers every test sequence, as Gemma-3-270M's 512 covers our prompts: the prefix-cache paths put
    # padding between prefix and suffix, which a window counts by index (tests/core/models/test_capture.py
    # runs the residual oracle with an 8-token window, where the window does act).
    "gemma3": dict(head_dim=16, query_pre_attn_scalar=16, sliding_window=512, tie_word_embeddings=True,
                   layer_types=["sliding_attention", "full_attention", "sliding_attention"]),
}


def _tokenizer() -> Any:
    from core.config import ModelSpec
    from core.models.loader import load_tokenizer

    return load_tokenizer(ModelSpec(source="tiny", hf_id="tiny", family="llama"))  # one for all


def tiny_config(family: str, tok: Any = None, overrides: Mapping[str, Any] | None = None) -> Any:
    """The tiny config of `family` (vocabulary and special ids of the tiny tokenizer, `tok` when given);
    `overrides` replace config fields (a test's variant of one family)."""
    tok = _tokenizer() if tok is None else tok
    config_cls = getattr(transformers, FAMILIES[family].config_class)
    # the tokenizer's special ids, not the family defaults (Phi3Config's eos 32000 is another token here)
    ids = dict(pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    fields = {**_COMMON, **_EXTRA.get(family, {}), **(overrides or {})}
    return config_cls(vocab_size=len(tok), **ids, **fields)


def build_tiny(family: str, seed: int = 0, overrides: Mapping[str, Any] | None = None) -> tuple[Any, Any]:
    """A (model, tokenizer) pair: random weights, fixed seed, the tiny tokenizer, and the family's
    attention implementation (core/models/families.py), as a hub checkpoint would load; `overrides`
    replace config fields."""
    tok = _tokenizer()
    torch.manual_seed(seed)
    kwargs = {} if FAMILIES[family].attn_implementation is None else {
        "attn_implementation": FAMILIES[family].attn_implementation}
    config = tiny_config(family, tok, overrides)
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32, **kwargs)
    return model.eval(), tok
