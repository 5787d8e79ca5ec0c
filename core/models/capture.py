"""Reading the residual stream: pooled over positions (extraction) or in full (tests, norms).

`pooled_residuals` runs ONE forward pass per batch and pools every requested layer inside the trace
(core/models/engine.trace), so only [layers, batch, d] floats leave the model rather than every hidden
state.
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


def residual_stream(model: LoadedModel, ids: torch.Tensor, mask: torch.Tensor, layers: list[int]
                    ) -> list[torch.Tensor]:
    """Full per-position residuals [batch, seq, d] after each requested layer (for tests, patching)."""
    reads, _ = engine.traced_forward(model, engine.hf_inputs(model, ids, mask), layers)
    return [reads[i].float().cpu() for i in layers]
