"""Per-row residual edits in ONE nnsight trace: the patching path for models whose traces run remotely.

core/models/patch.py runs rows through forward hooks, a reused prefix KV cache and stub blocks, all of
which need the weights here. On NDIF (core/models/remote.py) only an nnsight trace can run, so each
batch of equal-length rows becomes one trace over the whole sequences: at every edited or captured
layer, the residual gets each row's replacements (`Edit.values`, written with index_put at (row,
position)) and shifts (`Edit.delta`, accumulated), and the scorer reads the logits of the final
positions it keeps (letter logits, or an answer continuation's log-probabilities). The edits travel
sparsely (only the edited positions), since the request is serialised; the results are those of the
hook path (a test compares them through `remote="local"`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nnsight
import torch

from core.models import engine
from core.models.families import FAMILIES, get_path, residual_from_output
from core.models.loader import LoadedModel
from core.models.rows import Row, Scorer

Sparse = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # row index, position index, [k, d] values


def sparse_edits(rows: Sequence[Row], d: int) -> tuple[dict[int, Sparse], dict[int, Sparse]]:
    """layer -> (rows, positions, values) of the replacements and of the shifts of a batch."""
    parts: dict[str, dict[int, list[tuple[int, int, torch.Tensor]]]] = {"values": {}, "delta": {}}
    for r, row in enumerate(rows):
        for e in row.edits:
            for kind in ("values", "delta"):
                t = getattr(e, kind)
                if t is not None:
                    vals = t.to(torch.float32).expand(len(e.positions), d)
                    parts[kind].setdefault(e.layer, []).extend((r, p, vals[k]) for k, p in enumerate(e.positions))
    return tuple({layer: (torch.tensor([x[0] for x in items]), torch.tensor([x[1] for x in items]),  # type: ignore[return-value]
                          torch.stack([x[2] for x in items])) for layer, items in parts[kind].items()}
                 for kind in ("values", "delta"))


def _edit(h: torch.Tensor, put: Sparse | None, add: Sparse | None) -> torch.Tensor:
    if put is not None:
        h = h.index_put((engine.beside(put[0], h), engine.beside(put[1], h)), put[2].to(h))
    if add is not None:
        h = h.index_put((engine.beside(add[0], h), engine.beside(add[1], h)), add[2].to(h), accumulate=True)
    return h


def _replaced(output: Any, h: torch.Tensor) -> Any:
    return (h, *output[1:]) if isinstance(output, tuple) else h


def traced_edited_logits(model: LoadedModel, rows: Sequence[Row], offset: int, cache: Any,
                         scorer: Scorer, capture: Sequence[int] = (), start: int = 0
                         ) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """`engine.edited_logits` as one nnsight trace (whole rows: no prefix cache, no skipped blocks):
    the scorer's per-row scores [rows, k] from the final positions it keeps, and the residuals after
    `capture` [rows, T, d]."""
    if cache is not None or offset or start:
        raise ValueError("a traced forward runs whole rows: no prefix cache and no skipped blocks")
    ids = torch.tensor([list(r.ids) for r in rows])
    put, add = sparse_edits(rows, model.d_model)
    envoys = get_path(engine.wrap(model), FAMILIES[model.spec.family].layers_path)
    keep = scorer.keep(rows)
    inputs = {"logits_to_keep": keep, **engine.hf_inputs(model, ids)}  # equal lengths: no padding, no mask
    with torch.inference_mode(), engine.wrap(model).trace(inputs, remote=model.remote):
        store = nnsight.save({})
        for layer in sorted(set(put) | set(add) | set(capture)):  # in forward order
            output = envoys[layer].output  # read once: one visit of the module per forward
            h = _edit(residual_from_output(output), put.get(layer), add.get(layer))
            envoys[layer].output = _replaced(output, h)
            if layer in capture:
                store[layer] = h
        logits = engine.wrap(model).output.logits[:, -keep:].float().save()
    return scorer(logits.cpu(), ids, rows), store
