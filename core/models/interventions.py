"""Residual-stream interventions with one edit per batch row, a shared prefix KV cache, and gradients.

A `Row` is a token sequence plus edits at (layer, positions): `values` replaces the residual there
(exact interchange), `delta` is added to it (direction-only patches, steering, mediation). Rows that
share their first `prefix_len` tokens run as ONE batch: the prefix runs once, its KV cache is shared
(broadcast) across the batch rows, and only the suffix is recomputed, row k carrying its own edits.
This is exact because every edited position lies after the prefix, and the prefix's residuals do not
depend on later tokens (causal attention). A row whose first edit is at block L may also skip blocks
0..L-1 (`Row.start`): their output is that of a run already made (kept by the caller), so stub blocks
hand it to block L; rows are batched by that start block.

Why forward hooks here rather than an nnsight trace: per-row edits, a reused KV cache and a backward
pass (attribution patching) are each one line on a hook, with no per-trace overhead. A hook sees the
same tensor nnsight exposes as `.output` (layer L = HF hidden_states[L+1]; a test checks they agree),
and `residual_from_output` remains the one place that knows the backend's output shape.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers.cache_utils import DynamicLayer

from core.models.families import FAMILIES, get_path, residual_from_output
from core.models.loader import LoadedModel


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
    positions >= the shared prefix, [T - prefix_len, d]. Only used when the prefix cache is reused."""

    ids: tuple[int, ...]
    edits: tuple[Edit, ...] = ()
    start: int = 0
    inputs: torch.Tensor | None = None


@dataclass
class RowsOutput:
    logits: torch.Tensor  # [rows, len(token_ids)] at the last position, float32
    residuals: dict[int, torch.Tensor] = field(default_factory=dict)  # layer -> [rows, T - prefix_len, d]


def _with_residual(output: Any, hidden: torch.Tensor) -> Any:
    """Put an edited residual back into a layer output of the shape the backend returned."""
    if isinstance(output, tuple):
        return (hidden, *output[1:])
    return hidden


@dataclass
class _LayerPlan:
    mask: torch.Tensor | None = None  # [B, T] where values apply
    values: torch.Tensor | None = None  # [B, T, d]
    delta: torch.Tensor | None = None  # [B, T, d]


def _plans(rows: Sequence[Row], offset: int, width: int, d: int, device: str) -> dict[int, _LayerPlan]:
    """Dense per-layer edit tensors for one batch (positions shifted by `offset`)."""
    plans: dict[int, _LayerPlan] = defaultdict(_LayerPlan)
    for r, row in enumerate(rows):
        for e in row.edits:
            pos = torch.tensor(e.positions, dtype=torch.long) - offset
            if pos.numel() and int(pos.min()) < 0:
                raise ValueError("an edit lies inside the shared prefix, where clean and corrupt runs agree")
            plan = plans[e.layer]
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
    return plans


@contextmanager
def _hooks(model: LoadedModel, plans: dict[int, _LayerPlan], capture: Sequence[int],
           store: dict[int, torch.Tensor], grad: bool = False) -> Iterator[None]:
    """Install one forward hook per edited or captured layer for the duration of a forward."""
    modules = model.layer_modules()

    def make(layer: int) -> Any:
        plan = plans.get(layer)

        def hook(_module: Any, _args: Any, output: Any) -> Any:
            h = residual_from_output(output)
            if plan is not None and plan.mask is not None:
                # .to(h): with a device map, blocks may sit on different devices
                h = torch.where(plan.mask.to(h.device).unsqueeze(-1), plan.values.to(h), h)  # type: ignore[union-attr]
            if plan is not None and plan.delta is not None:
                h = h + plan.delta.to(h)
            if grad and layer in capture:
                if not h.requires_grad:
                    h = h.detach().requires_grad_(True)
                h.retain_grad()
            if layer in capture:
                store[layer] = h
            return _with_residual(output, h)

        return hook

    handles = [modules[i].register_forward_hook(make(i)) for i in sorted(set(plans) | set(capture))]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


class _Stub(torch.nn.Module):
    """Stands in for a decoder block below a batch's first edit: returns the stored residual (the last
    skipped block) or its input unchanged (the blocks below it, whose output nobody reads)."""

    def __init__(self, value: torch.Tensor | None) -> None:
        super().__init__()
        self.value = value

    def forward(self, hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        # transformers 5 decoder blocks return the residual tensor itself (core/models/families.py)
        return hidden_states if self.value is None else self.value.to(hidden_states)


@contextmanager
def _skipping(model: LoadedModel, start: int, inputs: torch.Tensor | None) -> Iterator[None]:
    """Blocks 0..start-1 replaced by stubs for one forward, so the batch starts computing at `start`."""
    if start == 0 or inputs is None:
        yield
        return
    blocks = get_path(model.hf, FAMILIES[model.spec.family].layers_path)
    originals = [blocks[i] for i in range(start)]
    for i in range(start):
        blocks[i] = _Stub(inputs if i == start - 1 else None)
    try:
        yield
    finally:
        for i, block in enumerate(originals):
            blocks[i] = block


def _prefix_cache(model: LoadedModel, prefix: Sequence[int]) -> Any:
    ids = torch.tensor([list(prefix)], device=model.device)
    with torch.no_grad():  # not inference_mode: a gradient pass may reuse this cache
        return model.hf(input_ids=ids, use_cache=True).cache


def _expanded(cache: Any, rows: int) -> Any:
    """A private prefix cache with `rows` batch rows (the forward appends to it, the prefix stays as is).

    Plain DynamicLayers grow by concatenation, so their prefix tensors can be shared as broadcast views
    (no copy); any other layer type (sliding windows, static caches) gets a deep copy, repeated.
    """
    if cache is None:
        return None
    if all(type(layer) is DynamicLayer for layer in cache.layers):
        out = copy.copy(cache)
        out.layers = [copy.copy(layer) for layer in cache.layers]
        for layer in out.layers:
            if layer.is_initialized:
                layer.keys = layer.keys.expand(rows, *layer.keys.shape[1:])
                layer.values = layer.values.expand(rows, *layer.values.shape[1:])
        return out
    out = copy.deepcopy(cache)
    out.batch_repeat_interleave(rows)
    return out


def _forward(model: LoadedModel, ids: torch.Tensor, cache: Any, token_ids: Sequence[int]) -> torch.Tensor:
    out = model.hf(input_ids=ids.to(model.device), cache=cache, use_cache=cache is not None, logits_to_keep=1)
    return out.logits[:, -1, list(token_ids)].float()


def _batches(rows: Sequence[Row], batch_rows: int, skip: bool) -> list[list[int]]:
    """Row indices grouped by length (no padding needed) and first computed block, then chunked."""
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        groups[(len(row.ids), row.start if skip else 0)].append(i)
    return [idx[s:s + batch_rows] for idx in groups.values() for s in range(0, len(idx), batch_rows)]


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


def run_rows(model: LoadedModel, rows: Sequence[Row], prefix_len: int, token_ids: Sequence[int],
             capture: Sequence[int] = (), batch_rows: int = 64, reuse_prefix: bool = True,
             skip_blocks: bool = True) -> RowsOutput:
    """Logits of `token_ids` at each row's last position, with each row's edits applied.

    `reuse_prefix=False` runs every row in full (the baseline the prefix cache is measured against, and
    ignores `Row.start`, as does `skip_blocks=False`); `batch_rows=1` runs one row per forward.
    Captured residuals cover positions >= prefix_len.
    """
    prefix = shared_prefix(rows, prefix_len)
    _check_starts(rows, capture)
    cache = _prefix_cache(model, prefix) if reuse_prefix and prefix_len else None
    offset = prefix_len if cache is not None else 0
    logits = torch.zeros(len(rows), len(token_ids))
    captured: dict[int, list[tuple[list[int], torch.Tensor]]] = defaultdict(list)
    skip = skip_blocks and cache is not None
    for idx in _batches(rows, batch_rows, skip):
        batch = [rows[i] for i in idx]
        ids = torch.tensor([list(r.ids[offset:]) for r in batch])
        plans = _plans(batch, offset, ids.shape[1], model.d_model, model.device)
        start = batch[0].start if skip else 0
        inputs = torch.stack([r.inputs for r in batch]).to(model.device) if start else None  # type: ignore[misc]
        store: dict[int, torch.Tensor] = {}
        with torch.inference_mode(), _hooks(model, plans, capture, store), _skipping(model, start, inputs):
            logits[idx] = _forward(model, ids, _expanded(cache, len(batch)), token_ids).cpu()
        for layer, h in store.items():
            captured[layer].append((idx, h[:, prefix_len - offset:].float().cpu()))
    return RowsOutput(logits, {layer: _gather(parts, len(rows)) for layer, parts in captured.items()})


def _gather(parts: list[tuple[list[int], torch.Tensor]], n: int) -> torch.Tensor:
    first = parts[0][1]
    out = torch.zeros(n, *first.shape[1:])
    for idx, h in parts:
        out[idx] = h
    return out


@contextmanager
def _frozen(model: LoadedModel) -> Iterator[None]:
    """Parameters stop requiring grad, so a backward pass computes activation gradients only."""
    params = [p for p in model.hf.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def residual_gradients(model: LoadedModel, rows: Sequence[Sequence[int]], prefix_len: int,
                       token_ids: Sequence[int], weights: Sequence[Sequence[float]], layers: Sequence[int]
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Residuals and d(score)/d(residual) after each layer, positions >= prefix_len: two [R, L, T', d].

    score_r = sum_j weights[r][j] * logit(token_ids[j]) at row r's last position. The rows (equal length,
    sharing the prefix) form one batch; rows never interact, so one backward of the summed scores gives
    every row's gradient at every layer and position (the prefix still comes from the KV cache).
    """
    prefix = shared_prefix([Row(tuple(r)) for r in rows], prefix_len)
    cache = _prefix_cache(model, prefix) if prefix_len else None
    offset = prefix_len if cache is not None else 0
    store: dict[int, torch.Tensor] = {}
    with _frozen(model), torch.enable_grad(), _hooks(model, {}, layers, store, grad=True):
        ids = torch.tensor([list(r[offset:]) for r in rows])
        logits = _forward(model, ids, _expanded(cache, len(rows)), token_ids)
        (logits * torch.tensor(weights, device=logits.device, dtype=logits.dtype)).sum().backward()
    cut = prefix_len - offset
    acts = torch.stack([store[i][:, cut:].detach().float().cpu() for i in layers], dim=1)
    grads = torch.stack([store[i].grad[:, cut:].float().cpu() for i in layers], dim=1)  # type: ignore[index]
    return acts, grads
