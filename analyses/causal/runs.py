"""Causal experiments on one instance's counterbalanced minimal pairs, in (layer, positions, direction).

The behaviour metric (core/data/prompts.py) scores "variants" of an instance: its two option orders
(letter metric), or each order with each option's text as the answer (continuation metric). Every
variant is a clean/corrupt pair of equal-length sequences sharing the prefix before the cue.
`base_runs` runs the clean and corrupt sequences of every variant (one batched call, prefix cached)
and keeps their residuals (`choice_runs`: behaviour's scores under both metrics and against several
corrupt events, from one call that runs each clean sequence once). The row builders turn those into
interventions on the corrupt (or clean) run: exact interchange of the whole residual, setting only
the projection on a unit direction to another run's value (direction-only patching; the mediator of
causal mediation), or adding alpha x direction (steering). `order_lds` runs any rows of every variant
together and returns their signed scores; `combine` (prompts.py) turns them into the metric. Edits
sit at prompt positions only: the answer continuation is what is scored. Positions are absolute token
indices; residuals are stored from the shared prefix onwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from core.data.prompts import ChoicePair, Metric, combine, letter_ids
from core.models.continuation import ChoiceScorer, ContinuationScorer, LetterScorer
from core.models.loader import LoadedModel
from core.models.patch import Edit, Row, residual_gradients, run_rows
from core.models.rows import Scorer


@dataclass
class Engine:
    """How rows are run: batch size, whether the shared prefix's KV cache is reused, and whether rows
    edited at block L skip the blocks below L (their output is a base run's, already kept)."""

    model: LoadedModel
    batch_rows: int = 64
    reuse_prefix: bool = True
    skip_blocks: bool = True
    metric: Metric = "letter"

    @property
    def scorer(self) -> Scorer:
        """Letter logits (and compliance mass) at the answer position, or the answer's log-probabilities."""
        if self.metric == "letter":
            return LetterScorer(letter_ids(self.model.tokenizer))
        return ContinuationScorer()


@dataclass
class BaseRuns:
    """Clean and corrupt runs of every variant: signed scores, the scorer's second column (letter:
    compliance mass P(A)+P(B); continuation: the answer's summed log-prob) and residuals [T - prefix, d]."""

    pairs: tuple[ChoicePair, ...]
    ld_clean: np.ndarray  # [variants], sign x score
    ld_corrupt: np.ndarray  # [variants]
    clean: list[dict[int, torch.Tensor]]
    corrupt: list[dict[int, torch.Tensor]]
    extra_clean: np.ndarray | None = None  # [variants]
    extra_corrupt: np.ndarray | None = None

    @property
    def prefix_len(self) -> int:
        return self.pairs[0].prefix_len

    @property
    def value_clean(self) -> float:
        """The metric of the clean runs (orders averaged)."""
        return float(combine(list(self.ld_clean)))

    @property
    def value_corrupt(self) -> float:
        return float(combine(list(self.ld_corrupt)))

    def residual(self, condition: str, order: int, layer: int, positions: Sequence[int]) -> torch.Tensor:
        """[len(positions), d] residual of the clean or corrupt run at absolute positions."""
        runs = self.clean if condition == "clean" else self.corrupt
        return runs[order][layer][[p - self.prefix_len for p in positions]]

    def projection(self, condition: str, order: int, layer: int, positions: Sequence[int],
                   direction: torch.Tensor) -> torch.Tensor:
        return self.residual(condition, order, layer, positions) @ direction


def _run(engine: Engine, pairs: Sequence[ChoicePair], rows: Sequence[Sequence[Row]], capture: Sequence[int]
         ) -> tuple[list[np.ndarray], list[np.ndarray], list[dict[int, torch.Tensor]]]:
    flat = [r for variant in rows for r in variant]
    signs = np.asarray([pairs[v].sign for v, variant in enumerate(rows) for _ in variant], dtype=np.float64)
    out = run_rows(engine.model, flat, pairs[0].prefix_len, engine.scorer, capture, engine.batch_rows,
                   engine.reuse_prefix, engine.skip_blocks)
    scores = out.scores.double().numpy()
    lds, extra = scores[:, 0] * signs, scores[:, 1]
    cut = np.cumsum([0] + [len(variant) for variant in rows])
    own = [pairs[v].length - pairs[0].prefix_len for v in range(len(rows))]  # each variant's own positions
    res = [{layer: h[cut[v]:cut[v + 1], :own[v]] for layer, h in out.residuals.items()} for v in range(len(rows))]
    return ([lds[cut[v]:cut[v + 1]] for v in range(len(rows))], [extra[cut[v]:cut[v + 1]] for v in range(len(rows))],
            res)


def order_lds(engine: Engine, pairs: Sequence[ChoicePair], rows: Sequence[Sequence[Row]],
              capture: Sequence[int] = ()) -> tuple[list[np.ndarray], list[dict[int, torch.Tensor]]]:
    """Run rows[v] (rows of variant v) in one batched call; signed scores and captured residuals per variant
    (`combine` of the per-variant arrays gives each intervention's metric)."""
    lds, _, res = _run(engine, pairs, rows, capture)
    return lds, res


def base_runs(engine: Engine, pairs: Sequence[ChoicePair], layers: Sequence[int]) -> BaseRuns:
    """Clean and corrupt runs of every variant (one batched call), residuals kept at `layers` and at the
    layer below each (a row edited at L starts from the residual at L-1, see _row)."""
    rows = [[Row(p.clean_ids, scored=p.answer_len), Row(p.corrupt_ids, scored=p.answer_len)] for p in pairs]
    kept = sorted(set(layers) | {layer - 1 for layer in layers if layer})
    lds, extra, res = _run(engine, pairs, rows, kept)
    clean = [{layer: h[0] for layer, h in r.items()} for r in res]
    corrupt = [{layer: h[1] for layer, h in r.items()} for r in res]
    return BaseRuns(tuple(pairs), np.array([x[0] for x in lds]), np.array([x[1] for x in lds]), clean, corrupt,
                    np.array([x[0] for x in extra]), np.array([x[1] for x in extra]))


def choice_runs(engine: Engine, answered: Mapping[str, Sequence[ChoicePair]]) -> dict[str, dict[Metric, BaseRuns]]:
    """Scores of one instance's answered variants (continuation metric, the same clean sequences under
    every event) against each corrupt event, with no residuals: per event, its continuation base runs and
    its letter base runs (read at each order's answer position, core/models/continuation.ChoiceScorer).

    One batched call runs each clean sequence once and each event's corrupt sequences, where running the
    events apart would repeat the clean runs and a letter pass would repeat every prompt.
    """
    events = list(answered)
    first = answered[events[0]]
    if any(p.option == "" for p in first) or any([p.clean_ids for p in answered[e]] != [p.clean_ids for p in first]
                                                for e in events):
        raise ValueError("choice runs need answered variants with the same clean sequences under every event")
    rows = [Row(p.clean_ids, scored=p.answer_len) for p in first]
    rows += [Row(p.corrupt_ids, scored=p.answer_len) for e in events for p in answered[e]]
    prefix = min(p.prefix_len for e in events for p in answered[e])
    scores = run_rows(engine.model, rows, prefix, ChoiceScorer(letter_ids(engine.model.tokenizer)), (),
                      engine.batch_rows, engine.reuse_prefix, engine.skip_blocks).scores.double().numpy()
    n = len(first)
    clean = scores[:n]
    return {e: _by_metric(answered[e], clean, scores[n * (k + 1):n * (k + 2)]) for k, e in enumerate(events)}


def _by_metric(pairs: Sequence[ChoicePair], clean: np.ndarray, corrupt: np.ndarray) -> dict[Metric, BaseRuns]:
    """Continuation and letter base runs from ChoiceScorer's columns (letters: each order's empathic-answer row)."""
    signs = np.array([p.sign for p in pairs])
    continuation = BaseRuns(tuple(pairs), clean[:, 0] * signs, corrupt[:, 0] * signs, [{} for _ in pairs],
                            [{} for _ in pairs], clean[:, 1], corrupt[:, 1])
    at = [v for v, p in enumerate(pairs) if p.option == "empathic"]
    orders = tuple(replace(pairs[v], clean_ids=pairs[v].clean_ids[:pairs[v].prompt_len],
                           corrupt_ids=pairs[v].corrupt_ids[:pairs[v].prompt_len], answer_len=0, option="")
                   for v in at)
    letter_signs = np.array([p.sign for p in orders])
    letter = BaseRuns(orders, clean[at, 2] * letter_signs, corrupt[at, 2] * letter_signs, [{} for _ in orders],
                      [{} for _ in orders], clean[at, 3], corrupt[at, 3])
    return {"continuation": continuation, "letter": letter}


def base_table(base: BaseRuns) -> pd.DataFrame:
    """<phase>_base_runs: per variant, the clean and corrupt signed scores and the scorer's second column.
    Saved with each instance's work unit, so a resumed run rebuilds its residual-free base runs
    (`light_bases`) without running them again: the cue's effect and the effect rows read nothing else."""
    return pd.DataFrame({"instance_id": base.pairs[0].instance_id, "variant": range(len(base.pairs)),
                         "empathic_first": [p.empathic_first for p in base.pairs],
                         "option": [p.option or None for p in base.pairs],
                         "ld_clean": base.ld_clean, "ld_corrupt": base.ld_corrupt,
                         "extra_clean": base.extra_clean, "extra_corrupt": base.extra_corrupt})


def light_bases(table: pd.DataFrame, pairs: Mapping[str, Sequence[ChoicePair]]) -> dict[str, BaseRuns]:
    """Residual-free base runs from `base_table` rows, in the table's instance order, with their variants."""
    out = {}
    for iid, g in table.groupby("instance_id", sort=False):
        g = g.sort_values("variant")
        variants = tuple(pairs[str(iid)])
        if len(g) != len(variants):
            raise ValueError(f"{iid}: {len(g)} stored base runs for {len(variants)} variants")
        empty: list[dict[int, torch.Tensor]] = [{} for _ in variants]
        out[str(iid)] = BaseRuns(variants, g.ld_clean.to_numpy(), g.ld_corrupt.to_numpy(), empty, list(empty),
                                 g.extra_clean.to_numpy(), g.extra_corrupt.to_numpy())
    return out


def _row(base: BaseRuns, run: str, order: int, edit: Edit) -> Row:
    """A row of `run` (clean or corrupt) with one edit; it skips the blocks below the edit when the base
    run kept the residual just below it (those blocks would recompute exactly that)."""
    pair = base.pairs[order]
    ids = pair.corrupt_ids if run == "corrupt" else pair.clean_ids
    below = (base.corrupt if run == "corrupt" else base.clean)[order].get(edit.layer - 1)
    if below is None:
        return Row(ids, (edit,), scored=pair.answer_len)
    return Row(ids, (edit,), start=edit.layer, inputs=below, scored=pair.answer_len)


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
    """Linear estimate of each (layer, position) interchange's change of a variant's signed score:
    (clean - corrupt) . d(sign x score)/dh; `combine` over variants gives the metric's change.

    One forward and one backward of the corrupt runs (variants of equal length in one batch) give, per
    variant, a [len(layers), T - prefix] grid of estimates.
    """
    groups: dict[int, list[int]] = {}
    for v, pair in enumerate(base.pairs):
        groups.setdefault(pair.length, []).append(v)
    out: dict[int, torch.Tensor] = {}
    for group in groups.values():
        pairs = [base.pairs[v] for v in group]
        rows = [Row(p.corrupt_ids, scored=p.answer_len) for p in pairs]
        acts, grads = residual_gradients(engine.model, rows, base.prefix_len, engine.scorer,
                                         [p.sign for p in pairs], layers)
        for k, v in enumerate(group):
            clean = torch.stack([base.clean[v][layer] for layer in layers])
            out[v] = ((clean - acts[k]) * grads[k]).sum(-1)
    return [out[v] for v in range(len(base.pairs))]


def recovered(ld_patched: np.ndarray, ld_clean: np.ndarray, ld_corrupt: np.ndarray, min_effect: float
              ) -> np.ndarray:
    """(LD_patched - LD_corrupt) / (LD_clean - LD_corrupt); NaN where |denominator| < min_effect."""
    gap = np.asarray(ld_clean, dtype=np.float64) - ld_corrupt
    safe = np.where(np.abs(gap) >= min_effect, gap, np.nan)
    return (np.asarray(ld_patched, dtype=np.float64) - ld_corrupt) / safe
