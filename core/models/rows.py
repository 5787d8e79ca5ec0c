"""Rows the engine runs (core/models/engine.py re-exports them): token sequences, their residual
edits, left padding and position ids, and length-bucketed batching. No model is touched here.

A `Row` is a token sequence plus edits at (layer, positions): `values` replaces the residual there
(exact interchange), `delta` is added to it (direction-only patches, steering, mediation). Rows that
share their first `prefix_len` tokens run as ONE batch: the prefix runs once, its KV cache is shared
(broadcast) across the batch rows, and only the suffix is recomputed, row k carrying its own edits.
This is exact because every edited position lies after the prefix, and the prefix's residuals do not
depend on later tokens (causal attention). A row whose first edit is at block L may also skip blocks
0..L-1 (`Row.start`): their output is that of a run already made (kept by the caller), so stub blocks
hand it to block L; rows are batched by that start block.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch


@dataclass(frozen=True)
class Edit:
    """Replace (`values`) and/or shift (`delta`) the residual after `layer` at absolute `positions`."""

    layer: int
    positions: tuple[int, ...]
    values: torch.Tensor | None = None  # [len(positions), d]
    delta: torch.Tensor | None = None  # [len(positions), d] or [d] (broadcast over positions)


@dataclass(frozen=True)
class Row:
    """A sequence and its edits. `start` > 0 lets a row skip the blocks below `start` (no edit there, so
    their output equals a run already made): `inputs` is that run's residual after block start - 1 at
    positions >= the shared prefix, [T - prefix_len, d]. Only used when the prefix cache is reused.
    `scored` > 0: the last `scored` tokens are a continuation whose log-probabilities are the row's
    score (core/models/continuation.py); 0: the score is read from the last position's logits."""

    ids: tuple[int, ...]
    edits: tuple[Edit, ...] = ()
    start: int = 0
    inputs: torch.Tensor | None = None
    scored: int = 0


class Scorer(Protocol):
    """Turns a batch's kept logits into per-row scores (core/models/continuation.py has the two kinds)."""

    @property
    def width(self) -> int:
        """Score columns per row."""
        ...

    def keep(self, rows: Sequence[Row]) -> int:
        """How many final positions of logits the batch needs."""
        ...

    def __call__(self, logits: torch.Tensor, ids: torch.Tensor, rows: Sequence[Row]) -> torch.Tensor:
        """[B, k] scores from logits [B, keep, vocab] (float32) and the batch's ids [B, S]."""
        ...


@dataclass
class LayerPlan:
    """One layer's edits for a whole batch, as dense tensors."""

    mask: torch.Tensor | None = None  # [B, T] where values apply
    values: torch.Tensor | None = None  # [B, T, d]
    delta: torch.Tensor | None = None  # [B, T, d]


def plans(rows: Sequence[Row], offset: int, width: int, d: int, device: str) -> dict[int, LayerPlan]:
    """Dense per-layer edit tensors for one batch (positions shifted by `offset`)."""
    out: dict[int, LayerPlan] = defaultdict(LayerPlan)
    for r, row in enumerate(rows):
        for e in row.edits:
            pos = torch.tensor(e.positions, dtype=torch.long) - offset
            if pos.numel() and int(pos.min()) < 0:
                raise ValueError("an edit lies inside the shared prefix, where clean and corrupt runs agree")
            plan = out[e.layer]
            if e.values is not None:
                if plan.mask is None:
                    plan.mask = torch.zeros(len(rows), width, dtype=torch.bool, device=device)
                    plan.values = torch.zeros(len(rows), width, d, device=device)
                plan.mask[r, pos] = True
                plan.values[r, pos] = e.values.to(device, torch.float32)  # type: ignore[index]
            if e.delta is not None:
                if plan.delta is None:
                    plan.delta = torch.zeros(len(rows), width, d, device=device)
                plan.delta[r, pos] += e.delta.to(device, torch.float32)
    return out


def left_pad(seqs: list[list[int]], pad_id: int, width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded ids and attention mask [len(seqs), width]."""
    width = max(len(s) for s in seqs) if width is None else width
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        if seq:
            ids[row, width - len(seq):] = torch.tensor(seq)
            mask[row, width - len(seq):] = 1
    return ids, mask


def position_ids(mask: torch.Tensor) -> torch.Tensor:
    """Positions counted over real tokens only (what HF generate does for left padding)."""
    return (mask.cumsum(-1) - 1).clamp(min=0)


def batches(keys: Sequence[Hashable], max_rows: int) -> list[list[int]]:
    """Indices grouped by key (e.g. length: rows of one key need no padding), in first-seen order, each
    group cut into batches of at most `max_rows`."""
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        groups[key].append(i)
    return [idx[s:s + max_rows] for idx in groups.values() for s in range(0, len(idx), max_rows)]
