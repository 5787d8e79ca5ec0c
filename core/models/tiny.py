"""Tiny random-init models of every supported family, for offline tests of each adapter path.

They share the embedded model's tokenizer (and chat template) so text handling is exercised too.
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


def build_tiny(family: str, seed: int = 0, overrides: Mapping[str, Any] | None = None) -> tuple[Any, Any]:
    """A (model, tokenizer) pair: random weights, fixed seed, the embedded model's tokenizer; `overrides`
    replace config fields (a test's variant of one family)."""
    from transformers import AutoTokenizer

    from core.models.loader import TOKENIZER_DONOR, embedded_dir

    tok = AutoTokenizer.from_pretrained(embedded_dir(TOKENIZER_DONOR))
    config_cls = getattr(transformers, FAMILIES[family].config_class)
    fields = {**_COMMON, **_EXTRA.get(family, {}), **(overrides or {})}
    config = config_cls(vocab_size=len(tok), pad_token_id=tok.pad_token_id, **fields)
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    return model.eval(), tok
