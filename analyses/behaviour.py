"""behaviour — does the empathy cue move the model's forced choice, under each behaviour metric?

Method. Each token-aligned instance gives a minimal pair of forced-choice prompts: the scene with an
empathy cue (clean) or a neutral event of equal token length (corrupt), the question, options (A)/(B)
and "Answer with A or B.", chat-templated with the generation prompt (core/data/prompts.py: one
prompt format for every causal phase). Two metrics read the same prompts:
- `continuation`: the mean log-probability per token of the empathic option's own text as the
  assistant's answer minus that of the task option's text (nats/token), in each option order,
  averaged over the orders. It needs no compliance with the letter format.
- `letter`: the logit difference of the empathic option's letter minus the task option's at the answer
  position, orders averaged. Each row also stores the compliance mass P(A)+P(B) there: where the model
  would rather say "(" or anything else, the letters say little about its choice, so this metric may
  carry a verdict only where the median per-instance mass reaches `min_mass`; the tables say whether it
  did (`withheld`).
Per instance the cue's total effect is TE = metric(clean) - metric(corrupt). Per metric
(`behaviour_effects`): mean TE with an instance bootstrap 95% CI (the instance is the resampled unit;
its orders, options and conditions move together), the share of instances with TE > 0, and whether
the CI excludes zero. Patching and mediation use `metric` (params.yaml) and gate every verdict on the
same test on their own instances: "undetermined" while the CI includes zero (or the letter metric is
withheld). Base runs share the prompt prefix before the cue (its KV cache runs once per instance).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from tqdm import tqdm

from analyses.causal.common import UNITS, CueEffect, compliance, cue_effect
from analyses.causal.runs import BaseRuns, Engine, base_runs
from analyses.harness import PhaseRun, final
from core.config import BehaviourConfig
from core.context import RunContext
from core.data.prompts import Metric, aligned_instances, sample_instances

METRICS: tuple[Metric, ...] = ("continuation", "letter")


def score_rows(metric: Metric, bases: dict[str, BaseRuns]) -> pd.DataFrame:
    """behaviour_scores: one row per instance x condition x scored sequence (variant), its raw score,
    the sign it enters the metric with, and the compliance mass (letter) or summed log-prob (continuation)."""
    rows = []
    for iid, base in bases.items():
        for condition, lds, extra in (("clean", base.ld_clean, base.extra_clean),
                                      ("corrupt", base.ld_corrupt, base.extra_corrupt)):
            for v, pair in enumerate(base.pairs):
                rows.append({"instance_id": iid, "metric": metric, "condition": condition,
                             "empathic_first": pair.empathic_first, "answer": pair.option or None,
                             "answer_tokens": pair.answer_len, "score": float(lds[v] * pair.sign),
                             "sign": pair.sign,
                             "compliance_mass": float(extra[v]) if metric == "letter" else np.nan,  # type: ignore[index]
                             "logprob_sum": float(extra[v]) if metric == "continuation" else np.nan})  # type: ignore[index]
    return pd.DataFrame(rows)


def instance_rows(metric: Metric, bases: dict[str, BaseRuns]) -> pd.DataFrame:
    """behaviour_instances: the metric per instance and condition (orders averaged) and the cue's TE."""
    return pd.DataFrame([{"instance_id": iid, "metric": metric, "clean": b.value_clean, "corrupt": b.value_corrupt,
                          "te": b.value_clean - b.value_corrupt,
                          "compliance_mass": compliance(b) if metric == "letter" else np.nan}
                         for iid, b in bases.items()])


def effect_row(metric: Metric, inst: pd.DataFrame, te: CueEffect, used: bool) -> dict:
    """behaviour_effects: the metric's cue effect with its CI, and (letter) the compliance it rests on."""
    mass = inst.compliance_mass.to_numpy()
    return {"metric": metric, "units": UNITS[metric], "te": te.mean, "ci_low": te.ci_low, "ci_high": te.ci_high,
            "n_instances": len(inst), "share_positive": float(np.mean(inst.te > 0)),
            "clean_empathic_preferred": float(np.mean(inst.clean > 0)),
            "corrupt_empathic_preferred": float(np.mean(inst.corrupt > 0)),
            "mass_median": float(np.median(mass)) if metric == "letter" else np.nan,
            "mass_q25": float(np.quantile(mass, 0.25)) if metric == "letter" else np.nan,
            "mass_q75": float(np.quantile(mass, 0.75)) if metric == "letter" else np.nan,
            "withheld": te.withheld or None, "decided": te.decided, "used_by_causal_phases": used}


def verdict(metric: Metric, inst: pd.DataFrame, te: CueEffect, used: bool) -> dict[str, str]:
    """Does the cue move the choice under `metric`? Undetermined while the CI includes zero; withheld
    (letter) while the compliance mass is below the threshold."""
    if te.withheld:
        answer = f"withheld: {te.withheld}"
    elif not te.decided:
        answer = "undetermined: the cue's effect has a 95% CI including zero"
    else:
        answer = f"yes: the cue {'raises' if te.ci_low > 0 else 'lowers'} the empathic option's {metric} score"
    role = "the metric of patching and mediation" if used else "reported beside the metric in use"
    evidence = (f"{te.text()} over {len(inst)} instances (clean - corrupt, instance bootstrap 95% CI); TE > 0 in "
                f"{np.mean(inst.te > 0):.0%}; empathic preferred in {np.mean(inst.clean > 0):.0%} with the cue, "
                f"{np.mean(inst.corrupt > 0):.0%} without; {role}")
    return {"question": f"Does the empathy cue move the forced choice ({metric} metric)?", "answer": answer,
            "evidence": evidence}


def run(cfg: BehaviourConfig, ctx: RunContext) -> PhaseRun:
    """Base runs of every sampled instance under both metrics; scores, per-instance TEs, effects, verdicts."""
    instances = sample_instances(ctx.dataset.instances_in(cfg.splits), cfg.instances_per_family, ctx.seed)
    scores, per_instance, effects, verdicts = [], [], [], []
    for metric in METRICS:
        pairs, skipped = aligned_instances(ctx.model.tokenizer, instances, metric)
        engine = Engine(ctx.model, cfg.batch_rows, metric=metric)
        bases = {iid: base_runs(engine, pair, []) for iid, pair in
                 tqdm(pairs.items(), desc=f"behaviour {metric}", unit="inst", file=sys.stderr)}
        te = cue_effect(bases, metric, cfg.min_mass, cfg.n_bootstrap, ctx.seed)
        inst = instance_rows(metric, bases)
        scores.append(score_rows(metric, bases))
        per_instance.append(inst)
        effects.append(effect_row(metric, inst, te, metric == cfg.metric))
        verdicts.append(verdict(metric, inst, te, metric == cfg.metric))
        if skipped:
            verdicts[-1]["evidence"] += f"; {len(skipped)} instances skipped (cue and neutral not token-aligned)"
    yield final({"behaviour_scores": pd.concat(scores, ignore_index=True),
                 "behaviour_instances": pd.concat(per_instance, ignore_index=True),
                 "behaviour_effects": pd.DataFrame(effects), "behaviour_verdicts": pd.DataFrame(verdicts)})
