"""mediation — how much of the empathy cue's effect on the choice flows through the probe direction?

Method (Vig et al. 2020). Treatment: the empathy cue (clean prompt) vs the neutral event (corrupt
prompt) of a token-aligned minimal pair. Mediator: the projection of layer L's residual on the unit
probe direction at every prompt position from the cue onwards (`from_cue`, default) or after it
(`after_cue`). Outcome: the behaviour metric of params.yaml's behaviour section (core/data/prompts.py;
by default the empathic option's text's mean log-probability per token as the answer minus the task
option's, else the letter logit difference; both option orders averaged), written LD below. Per
instance and layer:
  TE  = LD(clean) - LD(corrupt);
  NIE = LD(corrupt run, mediator set to its clean value) - LD(corrupt);
  NDE = LD(clean run, mediator held at its corrupt value) - LD(corrupt).
Setting the mediator changes only the component along the direction, position by position:
h + ((h_other - h) . u) u. Means over instances carry bootstrap 95% CIs (resampling instances); the
proportion mediated is mean NIE / mean TE, undefined when |mean TE| < min_effect.
Inference (analyses/causal/common.py). Each mean (TE, and NIE and NDE per layer) gets a two-sided
sign-flip p over instances (`te_p`, `nie_p`, `nde_p`; the same flips at every layer); NIE and NDE are
Holm-adjusted across the layers (`nie_p_holm`, `nde_p_holm`, family-wise error `alpha`). The verdict
names a layer significant only on the adjusted p, and is "undetermined" unless the total effect's
bootstrap CI excludes zero (and, under the letter metric, the median compliance mass P(A)+P(B)
reaches behaviour.min_mass): with no effect of the cue there is nothing to mediate, and "no
significant indirect effect" would be an empty statement. In a model linear
in the mediator TE = NIE + NDE exactly (tested); the gap TE - NIE - NDE measures the interaction.
The NIE and NDE rows of an instance (both orders, every layer) run batched over the shared prefix's KV
cache, each starting at its own layer from the base run's kept residual. Each instance is a work unit
(its effects and its base runs' scores, `mediation_base_runs`), so a kill loses at most one instance.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pandas as pd
import torch
from tqdm import tqdm

from analyses.causal.common import CueEffect, cue_effect, directions_for, layer_tests, sign_flip_p
from analyses.causal.runs import BaseRuns, Engine, base_runs, base_table, light_bases, order_lds, set_projection
from analyses.harness import PhaseRun, Tables, Units, final
from core.config import MediationConfig
from core.context import RunContext
from core.data.prompts import ChoicePair, aligned_instances, combine, sample_instances
from core.stats.directions import resolve_layers
from core.stats.estimates import mean_ci


def mediator_positions(pair: ChoicePair, where: str) -> list[int]:
    """Positions whose projection is the mediator: from the cue's first token, or after its last."""
    start = pair.span[0] if where == "from_cue" else pair.span[1]
    return list(range(start, pair.prompt_len))  # the answer continuation is the outcome, not the mediator


def instance_effects(engine: Engine, base: BaseRuns, layers: list[int], dirs: dict[int, torch.Tensor],
                     where: str) -> list[dict]:
    """TE, NIE and NDE of one instance at every layer (orders averaged)."""
    rows = [[set_projection(base, o, layer, mediator_positions(pair, where), dirs[layer], run)
             for layer in layers for run in ("corrupt", "clean")] for o, pair in enumerate(base.pairs)]
    lds, _ = order_lds(engine, base.pairs, rows)
    ld = combine(lds)
    clean, corrupt = base.value_clean, base.value_corrupt
    return [{"instance_id": base.pairs[0].instance_id, "layer": layer, "te": clean - corrupt,
             "nie": float(ld[2 * i]) - corrupt, "nde": float(ld[2 * i + 1]) - corrupt,
             "ld_clean": clean, "ld_corrupt": corrupt} for i, layer in enumerate(layers)]


def summarise(effects: pd.DataFrame, n_boot: int, seed: int, min_effect: float, n_flips: int, alpha: float
              ) -> pd.DataFrame:
    """mediation_effects: per layer, mean effects with bootstrap CIs, sign-flip p-values (NIE and NDE also
    Holm-adjusted across layers) and the proportion mediated."""
    rows = []
    for layer, g in effects.groupby("layer", sort=True):
        row: dict[str, float | int] = {"layer": int(layer)}
        for name in ("te", "nie", "nde"):
            row[name] = float(g[name].mean())
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = mean_ci(g[name].to_numpy(), n_boot, seed)
        row["prop_mediated"] = row["nie"] / row["te"] if abs(row["te"]) >= min_effect else float("nan")
        row["interaction"] = row["te"] - row["nie"] - row["nde"]
        row["n"] = len(g)
        rows.append(row)
    table = pd.DataFrame(rows)
    te = effects.groupby("instance_id").te.first().to_numpy()  # the same at every layer
    table["te_p"] = float(sign_flip_p(te, n_flips, seed)[0])
    for name in ("nie", "nde"):
        tests = layer_tests(effects, name, [], n_flips, seed, alpha).set_index("layer")
        table[f"{name}_p"] = table.layer.map(tests.p)
        table[f"{name}_p_holm"] = table.layer.map(tests.p_holm)
    return table


def mediation_verdict(table: pd.DataFrame, te: CueEffect, alpha: float) -> dict[str, str]:
    """At which layers is the indirect effect through the probe direction largest, and significant after
    Holm across layers? Undetermined while the total effect's CI includes zero."""
    top = table.reindex(table.nie.abs().sort_values(ascending=False).index).head(3)
    sig = table[table.nie_p_holm < alpha].layer.astype(int).tolist()
    best = top.iloc[0]
    holm = f"Holm across {len(table)} layers, alpha {alpha}"
    if not te.decided:
        answer = "undetermined: the cue's total effect has a 95% CI including zero, so there is no effect to mediate"
    elif sig:
        answer = f"layer {int(best.layer)} (NIE {best.nie:+.3f}); significant at layers {sig} ({holm})"
    else:
        answer = f"none significant ({holm}); largest |NIE| at layer {int(best.layer)} ({best.nie:+.3f})"
    evidence = "; ".join(f"L{int(r.layer)}: NIE {r.nie:+.3f} [{r.nie_ci_low:+.3f}, {r.nie_ci_high:+.3f}] "
                         f"p {r.nie_p:.3g}, p_holm {r.nie_p_holm:.3g}, NDE {r.nde:+.3f}, prop. mediated "
                         f"{r.prop_mediated:.2f}" for r in top.itertuples())
    return {"question": "At which layers is the indirect effect (through the probe direction) largest?",
            "answer": answer, "evidence": f"TE: {te.text()}, p {table.te_p.iloc[0]:.3g}; top layers by |NIE| — "
            + evidence}


def run(cfg: MediationConfig, ctx: RunContext) -> PhaseRun:
    """TE, NIE, NDE per instance and layer (one work unit per instance); the per-layer table with CIs; the verdict."""
    model, ds, instrument = ctx.model, ctx.dataset, ctx.params.behaviour
    instances = sample_instances(ds.instances_in(cfg.splits), cfg.instances_per_family, ctx.seed)
    pairs, skipped = aligned_instances(model.tokenizer, instances, instrument.metric)
    layers = resolve_layers(cfg.layers, model.n_layers)
    dirs = directions_for(ctx, cfg.probe_method, layers)
    engine = Engine(model, cfg.batch_rows, metric=instrument.metric)

    def compute(todo: list[str]) -> Iterator[tuple[str, Tables]]:
        for iid in tqdm(todo, desc="mediation", unit="inst", file=sys.stderr):
            base = base_runs(engine, pairs[iid], layers)
            effects = pd.DataFrame(instance_effects(engine, base, layers, dirs, cfg.positions))
            yield iid, {"mediation_instances": effects.assign(metric=instrument.metric),
                        "mediation_base_runs": base_table(base)}

    done = (yield Units(tuple(pairs), compute)).tables  # a kill loses at most the instance running
    per_instance = done.get("mediation_instances", pd.DataFrame())
    bases = light_bases(done.get("mediation_base_runs", pd.DataFrame(columns=["instance_id"])), pairs)
    table = summarise(per_instance, cfg.n_bootstrap, ctx.seed, cfg.min_effect, cfg.n_sign_flips, cfg.alpha)
    te = cue_effect(bases, instrument.metric, instrument.min_mass, cfg.n_bootstrap, ctx.seed)
    verdict = mediation_verdict(table, te, cfg.alpha)
    if skipped:
        verdict["evidence"] += f"; {len(skipped)} instances skipped (not token-aligned)"
    yield final({"mediation_effects": table.assign(metric=instrument.metric),
                 "mediation_verdicts": pd.DataFrame([verdict])})
