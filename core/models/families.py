"""Per-family facts (DESIGN P2): where the decoder blocks live and how to read their output.

With transformers 5.x every supported family's decoder layer returns a plain [batch, seq, d] tensor,
so `.output` *is* the residual stream after block L (HF `hidden_states[L+1]`, except the last entry,
which HF stores after the final norm). On nnsight's vLLM backend a layer returns (hidden, residual)
and the stream is their sum; `residual_from_output` is the one place that knows this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class FamilyFacts:
    layers_path: str = "model.layers"
    final_norm_path: str = "model.norm"
    config_class: str = "LlamaConfig"
    # None: transformers' default (sdpa). Gemma-2 soft-caps its attention logits, and only eager
    # attention applies the cap (sdpa silently drops it; transformers 5.20 allows sdpa for Gemma-2)
    attn_implementation: str | None = None


FAMILIES: dict[str, FamilyFacts] = {
    "llama": FamilyFacts(config_class="LlamaConfig"),
    "phi3": FamilyFacts(config_class="Phi3Config"),
    "gemma2": FamilyFacts(config_class="Gemma2Config", attn_implementation="eager"),
    # Gemma-3 text: Gemma3ForCausalLM; 5 sliding-window layers to 1 global, embeddings scaled by sqrt(d)
    # inside the embedding module, a norm after each sublayer; the block still returns the stream
    "gemma3": FamilyFacts(config_class="Gemma3TextConfig"),
    "qwen2": FamilyFacts(config_class="Qwen2Config"),
    "mistral": FamilyFacts(config_class="MistralConfig"),
    "mixtral": FamilyFacts(config_class="MixtralConfig"),
}


def get_path(root: Any, dotted: str) -> Any:
    """Follow a dotted attribute path (works on HF modules and nnsight envoys alike)."""
    for part in dotted.split("."):
        root = getattr(root, part)
    return root


def residual_from_output(output: Any) -> torch.Tensor:
    """The residual stream from a decoder layer's output, whatever the backend returns.

    HF transformers 5: a tensor. vLLM (fused add+RMSNorm): (hidden, residual), summed. Indexing a
    transformers-5 tensor with [0] would silently take batch row 0, hence the explicit type check.
    """
    if isinstance(output, tuple):
        hidden, residual = output[0], output[1]
        return hidden if residual is None else hidden + residual
    return output


def add_to_output(output: Any, delta: torch.Tensor) -> Any:
    """A decoder layer's output with `delta` added to its residual stream, in the backend's own shape.

    On vLLM's (hidden, residual) pair, adding to `hidden` adds to their sum, i.e. to the stream.
    """
    if isinstance(output, tuple):
        return (output[0] + delta, *output[1:])
    return output + delta
