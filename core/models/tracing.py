"""nnsight tracing primitives. Phases speak in layers and weights; only this module (and
core/models) knows how a layer's output is read.

`pooled_residuals` runs ONE forward pass per batch and pools every requested layer inside the trace,
so only [layers, batch, d] floats leave the model rather than every hidden state.
"""

from __future__ import annotations

from typing import Any

import nnsight
import torch
from nnsight import TransformersModel

from core.models.families import FAMILIES, get_path, residual_from_output
from core.models.loader import LoadedModel


def wrap(model: LoadedModel) -> TransformersModel:
    """The nnsight view of a loaded HF model (built once per model and reused)."""
    cached = getattr(model, "_nnsight", None)
    if cached is None:
        cached = TransformersModel(model.hf, tokenizer=model.tokenizer)
        model._nnsight = cached  # type: ignore[attr-defined]
    return cached


def layer_envoys(model: LoadedModel) -> list[Any]:
    return list(get_path(wrap(model), FAMILIES[model.spec.family].layers_path))


def pooled_residuals(model: LoadedModel, ids: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor,
                     layers: list[int]) -> torch.Tensor:
    """Weighted sums over positions of the residual after each layer: [len(layers), batch, d]."""
    envoys = layer_envoys(model)
    w = weights.to(model.device).unsqueeze(-1)
    inputs = {"input_ids": ids.to(model.device), "attention_mask": mask.to(model.device), "use_cache": False}
    with torch.inference_mode(), wrap(model).trace(inputs):
        pooled = nnsight.save([(residual_from_output(envoys[i].output) * w).sum(dim=1) for i in layers])
    return torch.stack([p.float().cpu() for p in pooled])


def residual_stream(model: LoadedModel, ids: torch.Tensor, mask: torch.Tensor, layers: list[int]
                    ) -> list[torch.Tensor]:
    """Full per-position residuals [batch, seq, d] after each requested layer (for tests, patching)."""
    envoys = layer_envoys(model)
    inputs = {"input_ids": ids.to(model.device), "attention_mask": mask.to(model.device), "use_cache": False}
    with torch.inference_mode(), wrap(model).trace(inputs):
        outs = nnsight.save([residual_from_output(envoys[i].output) for i in layers])
    return [o.float().cpu() for o in outs]
