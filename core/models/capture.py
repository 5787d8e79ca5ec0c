"""Reading the residual stream: pooled over positions (extraction) or in full (tests, norms).

`pooled_residuals` runs ONE forward pass per batch and pools every requested layer inside the trace
(core/models/engine.trace), so only [layers, batch, d] floats leave the model rather than every hidden
state. `pooled_embeddings` pools the token embeddings (the residual entering block 0, HF
`hidden_states[0]`) with the same weights: the in-model lexical baseline of the probes phase.
"""

from __future__ import annotations

import torch

from core.models import engine
from core.models.loader import LoadedModel


def pooled_residuals(model: LoadedModel, ids: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor,
                     layers: list[int]) -> torch.Tensor:
    """Weighted sums over positions of the residual after each layer: [len(layers), batch, d]."""
    w = weights.to(model.device).unsqueeze(-1)
    reads, _ = engine.traced_forward(model, engine.hf_inputs(model, ids, mask), layers,
                            lambda h: (h * engine.beside(w, h)).sum(dim=1))
    return torch.stack([reads[i].float().cpu() for i in layers])


def pooled_embeddings(model: LoadedModel, ids: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor
                      ) -> torch.Tensor:
    """Weighted sums over positions of the token embeddings: [1, batch, d] (one pseudo-layer, like the cache)."""
    w = weights.to(model.device).unsqueeze(-1)
    inputs = engine.hf_inputs(model, ids, mask)
    pooled = engine.traced_embeddings(model, inputs, lambda h: (h * engine.beside(w, h)).sum(dim=1))
    return pooled.float().cpu().unsqueeze(0)


def residual_stream(model: LoadedModel, ids: torch.Tensor, mask: torch.Tensor, layers: list[int]
                    ) -> list[torch.Tensor]:
    """Full per-position residuals [batch, seq, d] after each requested layer (for tests, patching)."""
    reads, _ = engine.traced_forward(model, engine.hf_inputs(model, ids, mask), layers)
    return [reads[i].float().cpu() for i in layers]
