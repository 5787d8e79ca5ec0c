"""patching — does writing the activations of an empathy cue into a neutral run change the choice?

Method. Each instance gives a token-aligned minimal pair of forced-choice prompts: the scene with an
empathy cue (clean) or a neutral event of equal token length (corrupt), the question, options (A)/(B)
and "Answer with A or B.", chat-templated with the generation prompt. Behaviour is the instrument of
the behaviour phase (params.yaml `behaviour.metric`, core/data/prompts.py): by default the mean
log-probability per token of the empathic option's text minus the task option's as the assistant's
answer (nats/token), or the letter logit difference at the answer position; both option orders are
averaged. "LD" below is that metric, whichever it is; edits sit at prompt positions only.
Activation patching (interchange interventions, Geiger et al. 2023) runs the corrupt prompt with the
clean run's residual written at (layer L, position p), for every token of the differing span and the
final positions, and reports the recovered fraction (LD_patched - LD_corrupt) / (LD_clean -
LD_corrupt), undefined (NaN) where |LD_clean - LD_corrupt| < min_effect. At the same layers, over
the whole span: the full residual (kind full), only its projection on the unit probe direction set
to the clean value (direction_only), and additive steering with alpha x direction (steering), alpha
per layer the mean clean - corrupt projection gap over instances, orders and span tokens. Means over
instances carry bootstrap 95% CIs (instances resampled); `pooled` is the ratio of mean LD changes.
Inference (analyses/causal/common.py): each (layer, position, kind) cell's mean LD change gets a
sign-flip p over instances (`delta_p`; the same flips at every layer), Holm-adjusted across the
layers of its (kind, position) family (`delta_p_holm`, family-wise error `alpha`). A layer is called
significant only on the adjusted p, and every verdict is "undetermined" while the cue's own total
effect on the patched instances (clean - corrupt LD) has a bootstrap CI including zero, or, under the
letter metric, while their median compliance mass P(A)+P(B) is below behaviour.min_mass. Attribution patching
((clean - corrupt) . dLD/dresidual from one forward and backward of the corrupt run, every layer and
position) is compared with the exact values by Spearman correlation (on the recovered-fraction scale,
and on the LD-change scale, which stays defined when the cue's effect is too small for a fraction).
Speed: interventions are rows of batched forwards, the prompt prefix before the span runs once (its
KV cache reused), and a row edited at block L starts at block L from the base run's residual.
Resuming: each instance is a work unit, twice (its patches, then its steering rows, whose alphas need
every instance's span gaps); a unit keeps its base runs' scores (`patching_base_runs`), its span gaps
and its attribution estimates, so a rerun after a kill computes only the instances not yet written.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr
from tqdm import tqdm

from analyses.causal.common import CueEffect, cue_effect, directions_for, summarise
from analyses.causal.runs import (
    BaseRuns,
    Engine,
    attribution,
    base_runs,
    base_table,
    interchange,
    light_bases,
    order_lds,
    recovered,
    set_projection,
    steer,
)
from analyses.harness import PhaseRun, Tables, Units, final
from core.config import PatchingConfig
from core.context import RunContext
from core.data.prompts import ChoicePair, aligned_instances, combine, sample_instances
from core.stats.directions import resolve_layers

SPAN = "span"
STEER = "steer-"  # the steering pass's work units: steer-<instance id>


@dataclass(frozen=True)
class Sites:
    """Where one order is patched: single positions (label, index) and the whole span."""

    single: tuple[tuple[str, int], ...]
    span: tuple[int, ...]


def sites(pair: ChoicePair, max_span: int | None, n_final: int) -> Sites:
    """Span tokens labelled from the cue's end (span-1 is its last token; the last `max_span` if capped)
    and the final tokens last, last-1, ... (labels align across instances whose spans differ in length)."""
    start, end = pair.span
    span = tuple(range(start, end))
    kept = span[-max_span:] if max_span else span
    single = [(f"span{p - end}", p) for p in kept]
    last = pair.prompt_len - 1  # the answer position (an answer continuation after it is scored, not patched)
    finals = [last - j for j in range(n_final) if last - j >= end]
    single += [("last" if j == last else f"last-{last - j}", j) for j in reversed(finals)]
    return Sites(tuple(single), span)


def _rows(base: BaseRuns, cfg: PatchingConfig, layers: list[int], dirs: dict[int, torch.Tensor]) -> tuple:
    """Exact-sweep and span-group rows for both orders, with their (layer, position, kind) keys."""
    keys: list[tuple[int, str, str]] = []
    rows: list[list] = [[] for _ in base.pairs]
    for o, pair in enumerate(base.pairs):
        s = sites(pair, cfg.max_span_positions, cfg.final_positions)
        for layer in layers:
            for label, p in s.single:
                rows[o].append(interchange(base, o, layer, [p]))
                keys += [(layer, label, "full")] if o == 0 else []
            rows[o].append(interchange(base, o, layer, s.span))
            rows[o].append(set_projection(base, o, layer, s.span, dirs[layer]))
            keys += [(layer, SPAN, "full"), (layer, SPAN, "direction_only")] if o == 0 else []
    if len({len(r) for r in rows}) > 1:
        raise ValueError(f"{base.pairs[0].instance_id}: option orders have different patch sites")
    return keys, rows


def _effect_rows(iid: str, base: BaseRuns, keys: list, lds: list[np.ndarray], min_effect: float) -> list[dict]:
    ld = combine(lds)
    clean, corrupt = base.value_clean, base.value_corrupt
    rec = recovered(ld, np.full(len(ld), clean), np.full(len(ld), corrupt), min_effect)
    return [{"instance_id": iid, "layer": k[0], "position": k[1], "kind": k[2], "ld_patched": float(ld[i]),
             "ld_clean": clean, "ld_corrupt": corrupt, "delta_ld": float(ld[i]) - corrupt,
             "recovered": float(rec[i])} for i, k in enumerate(keys)]


def _attribution_rows(engine: Engine, iid: str, base: BaseRuns, cfg: PatchingConfig, layers: list[int]
                      ) -> list[dict]:
    """Per (layer, site label): the linear estimate of the LD change and of the recovered fraction."""
    est: dict[tuple[int, str], float] = {}
    for pair, grid in zip(base.pairs, attribution(engine, base, layers), strict=True):
        for label, p in sites(pair, cfg.max_span_positions, cfg.final_positions).single:
            for li, layer in enumerate(layers):
                est[(layer, label)] = est.get((layer, label), 0.0) + float(grid[li, p - pair.prefix_len]) / 2
    gap = base.value_clean - base.value_corrupt
    scale = gap if abs(gap) >= cfg.min_effect else np.nan
    return [{"instance_id": iid, "layer": k[0], "position": k[1], "estimate": v / scale, "estimate_delta_ld": v}
            for k, v in est.items()]


def _span_gaps(iid: str, base: BaseRuns, layers: list[int], dirs: dict[int, torch.Tensor]) -> pd.DataFrame:
    """patching_span_gaps: the clean - corrupt projection gap on the direction at every span token (order by
    order), per layer; steering's alpha at a layer is their mean over every instance."""
    rows = []
    for layer in layers:
        for o, pair in enumerate(base.pairs):
            span = list(range(*pair.span))
            gap = base.projection("clean", o, layer, span, dirs[layer]) - \
                base.projection("corrupt", o, layer, span, dirs[layer])
            rows += [{"instance_id": iid, "layer": layer, "variant": o, "position": p, "gap": float(g)}
                     for p, g in zip(span, gap.tolist(), strict=True)]
    return pd.DataFrame(rows)


def _steering_rows(engine: Engine, iid: str, base: BaseRuns, layers: list[int], dirs: dict[int, torch.Tensor],
                   alphas: dict[int, float], min_effect: float) -> list[dict]:
    rows = [[steer(base, o, layer, list(range(*pair.span)), dirs[layer], alphas[layer]) for layer in layers]
            for o, pair in enumerate(base.pairs)]
    lds, _ = order_lds(engine, base.pairs, rows)
    return _effect_rows(iid, base, [(layer, SPAN, "steering") for layer in layers], lds, min_effect)


def _rho(table: pd.DataFrame, a: str, b: str) -> tuple[float, int]:
    both = table.dropna(subset=[a, b])
    return (float(spearmanr(both[a], both[b]).statistic) if len(both) > 2 else float("nan")), len(both)


def attribution_table(attr: pd.DataFrame, effects: pd.DataFrame) -> pd.DataFrame:
    """Per (layer, position): mean estimated and exact recovered fraction and LD change, and the Spearman
    rho between estimate and exact over the cells the exact sweep covers (both scales)."""
    est = attr.groupby(["layer", "position"])[["estimate", "estimate_delta_ld"]].mean()
    single = effects[(effects.kind == "full") & (effects.position != SPAN)]
    exact = single.groupby(["layer", "position"])[["recovered", "delta_ld"]].mean()
    exact.columns = ["exact", "exact_delta_ld"]
    table = pd.concat([est, exact], axis=1).reset_index()
    table["spearman"], table["n_cells"] = _rho(table, "estimate", "exact")
    table["spearman_delta_ld"], table["n_cells_delta_ld"] = _rho(table, "estimate_delta_ld", "exact_delta_ld")
    return table


def _patch_one(engine: Engine, iid: str, pair: tuple, cfg: PatchingConfig, layers: list[int], dirs: dict,
               metric: str) -> Tables:
    """One instance's work unit: base runs, exact sweep, span-group patches, attribution and span gaps."""
    attr_layers = list(range(engine.model.n_layers)) if cfg.attribution else []
    base = base_runs(engine, pair, sorted(set(layers) | set(attr_layers)))
    keys, rows = _rows(base, cfg, layers, dirs)
    lds, _ = order_lds(engine, pair, rows)
    effects = pd.DataFrame(_effect_rows(iid, base, keys, lds, cfg.min_effect)).assign(metric=metric)
    tables = {"patching_effects": effects, "patching_span_gaps": _span_gaps(iid, base, layers, dirs),
              "patching_base_runs": base_table(base)}
    if attr_layers:
        tables["patching_attribution_instances"] = pd.DataFrame(_attribution_rows(engine, iid, base, cfg, attr_layers))
    return tables


def run(cfg: PatchingConfig, ctx: RunContext) -> PhaseRun:
    """Exact and attribution patching, direction-only patching and steering, per layer, under the
    behaviour metric of params.yaml's behaviour section (the behaviour phase reports its total effects).
    Two passes of one work unit per instance (a kill loses at most one instance): the patches, then the
    steering rows, whose alpha per layer needs every instance's span gaps."""
    model, ds, instrument = ctx.model, ctx.dataset, ctx.params.behaviour
    pairs, skipped = aligned_instances(model.tokenizer, sample_instances(ds.instances_in(cfg.splits),
                                       cfg.instances_per_family, ctx.seed), instrument.metric)
    layers = resolve_layers(cfg.layers, model.n_layers)
    dirs = directions_for(ctx, cfg.probe_method, layers)
    engine = Engine(model, cfg.batch_rows, metric=instrument.metric)

    def patch(todo: list[str]) -> Iterator[tuple[str, Tables]]:
        for iid in tqdm(todo, desc="patching", unit="inst", file=sys.stderr):
            yield iid, _patch_one(engine, iid, pairs[iid], cfg, layers, dirs, instrument.metric)

    patched = (yield Units(tuple(pairs), patch)).tables
    bases = light_bases(patched.get("patching_base_runs", pd.DataFrame(columns=["instance_id"])), pairs)
    gaps = patched.get("patching_span_gaps", pd.DataFrame(columns=["layer", "gap"]))
    alphas = {layer: float(np.mean(gaps.gap[gaps.layer == layer])) for layer in layers}

    def steering(todo: list[str]) -> Iterator[tuple[str, Tables]]:
        for unit in tqdm(todo, desc="patching steer", unit="inst", file=sys.stderr):
            iid = unit.removeprefix(STEER)
            rows = _steering_rows(engine, iid, bases[iid], layers, dirs, alphas, cfg.min_effect)
            yield unit, {"patching_effects": pd.DataFrame(rows).assign(metric=instrument.metric)}

    steered = (yield Units(tuple(STEER + iid for iid in bases), steering)).tables
    eff = pd.concat([t["patching_effects"] for t in (patched, steered) if "patching_effects" in t], ignore_index=True)
    summary = summarise(eff, ["layer", "kind", "position"], cfg.n_bootstrap, ctx.seed, cfg.n_sign_flips, cfg.alpha)
    summary["alpha"] = summary.layer.map(alphas).where(summary.kind == "steering")
    te = cue_effect(bases, instrument.metric, instrument.min_mass, cfg.n_bootstrap, ctx.seed)
    verdicts = [direction_verdict(summary, te, cfg.alpha)]
    tables = {"patching_summary": summary.assign(metric=instrument.metric)}
    if "patching_attribution_instances" in patched:
        tables["patching_attribution"] = attribution_table(patched["patching_attribution_instances"], eff)
        verdicts.append(attribution_verdict(tables["patching_attribution"], te, cfg))
    if skipped:
        for v in verdicts:
            v["evidence"] += f"; {len(skipped)} instances skipped (cue and neutral not token-aligned)"
    yield final({**tables, "patching_verdicts": pd.DataFrame(verdicts)})


def _cell(span: pd.DataFrame, layer: int, kind: str, m: str, lo: str, hi: str) -> str:
    r = span.loc[(layer, kind)]
    return f"{kind} {r[m]:+.3f} [{r[lo]:+.3f}, {r[hi]:+.3f}] p_holm {r.delta_p_holm:.3g}"


def significant_layers(span: pd.DataFrame, layers: list[int], alpha: float) -> tuple[list[int], list[int]]:
    """Layers where full span patching moves LD (Holm-adjusted p < alpha), and among them those where
    direction-only patching does too, in the same direction."""
    def sig(layer: int, kind: str) -> bool:
        return bool(span.loc[(layer, kind), "delta_p_holm"] < alpha)

    where = [int(L) for L in layers if sig(L, "full")]
    same = [L for L in where if np.sign(span.loc[(L, "direction_only"), "delta_mean"])
            == np.sign(span.loc[(L, "full"), "delta_mean"])]
    return where, [L for L in same if sig(L, "direction_only")]


def direction_verdict(summary: pd.DataFrame, te: CueEffect, alpha: float) -> dict[str, str]:
    """Full vs direction-only vs steering over the cue span. A layer counts where its Holm-adjusted
    sign-flip p of the mean LD change is below alpha; the means shown are on the recovered-fraction
    scale where it is defined for some instances, else the LD change (metric units). Undetermined while the
    cue itself does not move the patched instances' behaviour (its CI includes zero)."""
    span = summary[summary.position == SPAN].set_index(["layer", "kind"])
    fraction = bool(span.n.gt(1).any())
    m, lo, hi = ("mean", "ci_low", "ci_high") if fraction else ("delta_mean", "delta_ci_low", "delta_ci_high")
    layers = sorted(span.index.get_level_values(0).unique())
    where, dir_ok = significant_layers(span, layers, alpha)
    scale = "recovered fraction" if fraction else f"LD change in {te.units} (recovered fraction undefined: " \
        "|cue effect| below min_effect for every instance)"
    holm = f"Holm across {len(layers)} layers, alpha {alpha}"
    if not te.decided:
        answer = "undetermined: the cue does not significantly change behaviour, so there is nothing to recover"
    elif not where:
        answer = f"undetermined: full patching of the cue span changes no layer's LD significantly ({holm})"
    elif not dir_ok:
        answer = f"no: full span patching moves behaviour at layers {where}, the direction alone at none ({holm})"
    else:
        answer = f"partly: the direction alone moves behaviour at layers {dir_ok} (full patching: {where}; {holm})"
    parts = [f"L{L}: " + ", ".join(_cell(span, L, k, m, lo, hi) for k in ("full", "direction_only", "steering"))
             for L in layers]
    return {"question": "Does patching only the probe direction recover behaviour where full patching does?",
            "answer": answer, "evidence": f"{te.text()} on the patched instances; {scale}, cue span, mean [95% CI] "
            "and Holm-adjusted sign-flip p of the LD change — " + "; ".join(parts)}


def attribution_verdict(table: pd.DataFrame, te: CueEffect, cfg: PatchingConfig) -> dict[str, str]:
    """Spearman agreement of attribution and exact patching; undetermined while the cue has no effect
    (the exact values are then noise around zero, and so is their ranking)."""
    rho, n, scale = float(table.spearman.iloc[0]), int(table.n_cells.iloc[0]), "mean recovered fraction"
    if not np.isfinite(rho):
        rho, n, scale = float(table.spearman_delta_ld.iloc[0]), int(table.n_cells_delta_ld.iloc[0]), "mean LD change"
    answer = "yes" if rho >= cfg.attribution_agree else ("partly" if rho >= cfg.attribution_partly else "no")
    if not te.decided:
        answer = f"undetermined: the cue does not significantly change behaviour (rho alone would read {answer!r})"
    return {"question": "Does attribution patching rank (layer, position) sites like exact patching?",
            "answer": answer, "evidence": f"Spearman rho = {rho:.2f} over {n} (layer, position) cells of {scale}; "
            f"{te.text()} on the patched instances"}
