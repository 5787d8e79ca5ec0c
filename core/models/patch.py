"""Residual-stream interventions with one edit per batch row, a shared prefix KV cache, and gradients.

Rows and edits are core/models/rows.py's (see there how rows sharing a prefix run as one batch and
how a row edited at block L skips blocks 0..L-1); the engine (core/models/engine.py) runs them.

Why forward hooks here rather than an nnsight trace: per-row edits, a reused KV cache and a backward
pass (attribution patching) are each one line on a hook, with no per-trace overhead. A hook sees the
same tensor nnsight exposes as `.output` (layer L = HF hidden_states[L+1]; a test checks they agree),
and `residual_from_output` remains the one place that knows the backend's output shape.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from core.models import engine
from core.models.loader import LoadedModel
from core.models.rows import Edit, Row, Scorer, batches
from core.models.traced_rows import traced_edited_logits

__all__ = ["Edit", "Row", "RowsOutput", "residual_gradients", "run_rows", "shared_prefix"]


@dataclass
class RowsOutput:
    scores: torch.Tensor  # [rows, k] from the scorer (core/models/continuation.py), float32
    residuals: dict[int, torch.Tensor] = field(default_factory=dict)  # layer -> [rows, T - prefix_len, d]


def _check_starts(rows: Sequence[Row], capture: Sequence[int]) -> None:
    for row in rows:
        if row.start and (row.inputs is None or any(e.layer < row.start for e in row.edits)
                          or any(layer < row.start for layer in capture)):
            raise ValueError("a row skipping blocks needs their output and no edit or capture below `start`")


def shared_prefix(rows: Sequence[Row], prefix_len: int) -> tuple[int, ...]:
    """The first `prefix_len` tokens, checked to be common to every row."""
    prefix = rows[0].ids[:prefix_len]
    if any(r.ids[:prefix_len] != prefix for r in rows):
        raise ValueError("rows do not share the prefix they are said to share")
    return prefix


def run_rows(model: LoadedModel, rows: Sequence[Row], prefix_len: int, scorer: Scorer,
             capture: Sequence[int] = (), batch_rows: int = 64, reuse_prefix: bool = True,
             skip_blocks: bool = True) -> RowsOutput:
    """The scorer's scores of each row (letter logits at its last position or a continuation's
    log-probabilities), with each row's edits applied.

    `reuse_prefix=False` runs every row in full (the baseline the prefix cache is measured against, and
    ignores `Row.start`, as does `skip_blocks=False`); `batch_rows=1` runs one row per forward.
    Captured residuals cover positions >= prefix_len.
    """
    prefix = shared_prefix(rows, prefix_len)
    _check_starts(rows, capture)
    if model.remote:  # traces only (NDIF): whole rows in one trace each, core/models/traced_rows.py
        reuse_prefix, skip_blocks = False, False
    cache = engine.prefix_cache(model, [list(prefix)])[0] if reuse_prefix and prefix_len else None
    offset = prefix_len if cache is not None else 0
    scores = torch.zeros(len(rows), scorer.width)
    captured: dict[int, list[tuple[list[int], torch.Tensor]]] = defaultdict(list)
    skip = skip_blocks and cache is not None
    for idx in batches([(len(r.ids), r.start if skip else 0) for r in rows], batch_rows):
        batch = [rows[i] for i in idx]
        start = batch[0].start if skip else 0
        run = traced_edited_logits if model.remote else engine.edited_logits
        part, store = run(model, batch, offset, cache, scorer, capture, start)
        scores[idx] = part
        for layer, h in store.items():
            captured[layer].append((idx, h[:, prefix_len - offset:].float().cpu()))
    return RowsOutput(scores, {layer: _gather(parts, len(rows)) for layer, parts in captured.items()})


def _gather(parts: list[tuple[list[int], torch.Tensor]], n: int) -> torch.Tensor:
    # rows of different lengths (answers of different lengths) are zero-padded at the end to the longest
    width = max(h.shape[1] for _, h in parts)
    first = parts[0][1]
    out = torch.zeros(n, width, *first.shape[2:])
    for idx, h in parts:
        out[idx, :h.shape[1]] = h
    return out


def residual_gradients(model: LoadedModel, rows: Sequence[Row], prefix_len: int, scorer: Scorer,
                       weights: Sequence[float], layers: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Residuals and d(score)/d(residual) after each layer, positions >= prefix_len: two [R, L, T', d].

    score_r = weights[r] x the scorer's first column for row r (no edits). The rows (equal length,
    sharing the prefix) form one batch; rows never interact, so one backward of the summed scores gives
    every row's gradient at every layer and position (the prefix still comes from the KV cache).
    """
    if model.remote:
        raise ValueError("attribution patching needs a local backward pass; set patching.attribution=false "
                         "for a remote (NDIF) model")
    prefix = shared_prefix(rows, prefix_len)
    cache = engine.prefix_cache(model, [list(prefix)])[0] if prefix_len else None
    offset = prefix_len if cache is not None else 0
    store = engine.residual_grads(model, rows, offset, cache, scorer, weights, layers)
    cut = prefix_len - offset
    acts = torch.stack([store[i][:, cut:].detach().float().cpu() for i in layers], dim=1)
    grads = torch.stack([store[i].grad[:, cut:].float().cpu() for i in layers], dim=1)  # type: ignore[index]
    return acts, grads
