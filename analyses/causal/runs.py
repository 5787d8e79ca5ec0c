"""Causal experiments on one instance's counterbalanced minimal pairs, in (layer, positions, direction).

`base_runs` runs the clean and corrupt prompts of both option orders (one batch, prefix cached) and
keeps their residuals; the row builders turn those into interventions on the corrupt (or clean) run:
exact interchange of the whole residual, setting only the projection on a unit direction to another
run's value (direction-only patching; the mediator of causal mediation), or adding alpha x direction
(steering). `order_lds` runs any rows of both orders together and returns their logit differences.
Positions are absolute token indices; residuals are stored from the shared prefix onwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from core.data.prompts import ChoicePair, letter_ids
from core.models.loader import LoadedModel
from core.models.patch import Edit, Row, residual_gradients, run_rows


@dataclass
class Engine:
    """How rows are run: batch size, whether the shared prefix's KV cache is reused, and whether rows
    edited at block L skip the blocks below L (their output is a base run's, already kept)."""

    model: LoadedModel
    batch_rows: int = 64
    reuse_prefix: bool = True
    skip_blocks: bool = True

    @property
    def letters(self) -> tuple[int, int]:
        return letter_ids(self.model.tokenizer)


@dataclass
class BaseRuns:
    """Clean and corrupt runs of both option orders: per-order LDs and residuals [T - prefix, d]."""

    pairs: tuple[ChoicePair, ChoicePair]
    ld_clean: np.ndarray  # [2]
    ld_corrupt: np.ndarray  # [2]
    clean: list[dict[int, torch.Tensor]]
    corrupt: list[dict[int, torch.Tensor]]

    @property
    def prefix_len(self) -> int:
        return self.pairs[0].prefix_len

    def residual(self, condition: str, order: int, layer: int, positions: Sequence[int]) -> torch.Tensor:
        """[len(positions), d] residual of the clean or corrupt run at absolute positions."""
        runs = self.clean if condition == "clean" else self.corrupt
        return runs[order][layer][[p - self.prefix_len for p in positions]]

    def projection(self, condition: str, order: int, layer: int, positions: Sequence[int],
                   direction: torch.Tensor) -> torch.Tensor:
        return self.residual(condition, order, layer, positions) @ direction


def logit_diffs(logits: torch.Tensor, signs: Sequence[float]) -> np.ndarray:
    """LD = logit(empathic letter) - logit(task letter) per row, from the (A, B) logits."""
    return (logits[:, 0] - logits[:, 1]).double().numpy() * np.asarray(signs, dtype=np.float64)


def order_lds(engine: Engine, pairs: tuple[ChoicePair, ChoicePair], rows: Sequence[Sequence[Row]],
              capture: Sequence[int] = ()) -> tuple[list[np.ndarray], list[dict[int, torch.Tensor]]]:
    """Run rows[o] (rows of order o) in one batched call; LDs and captured residuals per order."""
    flat = [r for order in rows for r in order]
    signs = [pairs[o].sign for o, order in enumerate(rows) for _ in order]
    out = run_rows(engine.model, flat, pairs[0].prefix_len, engine.letters, capture, engine.batch_rows,
                   engine.reuse_prefix, engine.skip_blocks)
    lds = logit_diffs(out.logits, signs)
    cut = np.cumsum([0] + [len(order) for order in rows])
    res = [{layer: h[cut[o]:cut[o + 1]] for layer, h in out.residuals.items()} for o in range(len(rows))]
    return [lds[cut[o]:cut[o + 1]] for o in range(len(rows))], res


def base_runs(engine: Engine, pairs: tuple[ChoicePair, ChoicePair], layers: Sequence[int]) -> BaseRuns:
    """Clean and corrupt runs of both orders (4 rows, one batch), residuals kept at `layers` and at the
    layer below each (a row edited at L starts from the residual at L-1, see _row)."""
    rows = [[Row(p.clean_ids), Row(p.corrupt_ids)] for p in pairs]
    kept = sorted(set(layers) | {layer - 1 for layer in layers if layer})
    lds, res = order_lds(engine, pairs, rows, kept)
    clean = [{layer: h[0] for layer, h in r.items()} for r in res]
    corrupt = [{layer: h[1] for layer, h in r.items()} for r in res]
    return BaseRuns(pairs, np.array([x[0] for x in lds]), np.array([x[1] for x in lds]), clean, corrupt)


def _row(base: BaseRuns, run: str, order: int, edit: Edit) -> Row:
    """A row of `run` (clean or corrupt) with one edit; it skips the blocks below the edit when the base
    run kept the residual just below it (those blocks would recompute exactly that)."""
    ids = base.pairs[order].corrupt_ids if run == "corrupt" else base.pairs[order].clean_ids
    below = (base.corrupt if run == "corrupt" else base.clean)[order].get(edit.layer - 1)
    if below is None:
        return Row(ids, (edit,))
    return Row(ids, (edit,), start=edit.layer, inputs=below)


def interchange(base: BaseRuns, order: int, layer: int, positions: Sequence[int]) -> Row:
    """The corrupt run with the clean residual written at (layer, positions)."""
    values = base.residual("clean", order, layer, positions)
    return _row(base, "corrupt", order, Edit(layer, tuple(positions), values=values))


def set_projection(base: BaseRuns, order: int, layer: int, positions: Sequence[int], direction: torch.Tensor,
                   run: str = "corrupt") -> Row:
    """`run` (clean or corrupt) with its projection on the unit `direction` set to the other run's value.

    Only the component along the direction changes: h + ((h_other - h) . u) u, position by position.
    """
    other = "clean" if run == "corrupt" else "corrupt"
    gap = base.projection(other, order, layer, positions, direction) - \
        base.projection(run, order, layer, positions, direction)
    return _row(base, run, order, Edit(layer, tuple(positions), delta=gap.unsqueeze(-1) * direction))


def steer(base: BaseRuns, order: int, layer: int, positions: Sequence[int], direction: torch.Tensor,
          alpha: float) -> Row:
    """The corrupt run with alpha x direction added at (layer, positions)."""
    delta = (alpha * direction).expand(len(positions), -1)
    return _row(base, "corrupt", order, Edit(layer, tuple(positions), delta=delta))


def attribution(engine: Engine, base: BaseRuns, layers: Sequence[int]) -> list[torch.Tensor]:
    """Linear estimate of each (layer, position) interchange's LD change: (clean - corrupt) . dLD/dh.

    One forward and one backward of the corrupt runs (both orders in one batch when their lengths
    agree) give, per order, a [len(layers), T - prefix] grid of estimates.
    """
    groups = [[0, 1]] if base.pairs[0].length == base.pairs[1].length else [[0], [1]]
    out: dict[int, torch.Tensor] = {}
    for group in groups:
        pairs = [base.pairs[o] for o in group]
        acts, grads = residual_gradients(engine.model, [p.corrupt_ids for p in pairs], base.prefix_len,
                                         engine.letters, [(p.sign, -p.sign) for p in pairs], layers)
        for k, o in enumerate(group):
            clean = torch.stack([base.clean[o][layer] for layer in layers])
            out[o] = ((clean - acts[k]) * grads[k]).sum(-1)
    return [out[0], out[1]]


def recovered(ld_patched: np.ndarray, ld_clean: np.ndarray, ld_corrupt: np.ndarray, min_effect: float
              ) -> np.ndarray:
    """(LD_patched - LD_corrupt) / (LD_clean - LD_corrupt); NaN where |denominator| < min_effect."""
    gap = np.asarray(ld_clean, dtype=np.float64) - ld_corrupt
    safe = np.where(np.abs(gap) >= min_effect, gap, np.nan)
    return (np.asarray(ld_patched, dtype=np.float64) - ld_corrupt) / safe
