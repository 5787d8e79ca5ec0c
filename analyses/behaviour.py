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
withheld). Base runs share the prompt prefix before the cue (its KV cache runs once per instance), and
one batched call per instance gives both metrics against every event (neutral, negative, scrambled): the
letters are read where the answered prompt predicts its answer, and each clean (cue) sequence runs once
(causal/runs.choice_runs).
Each instance is a work unit (its base runs' scores, `behaviour_base_runs`): a kill loses at most one.

Controls (`behaviour_controls`, one `control` per event put in the corrupt slot instead of the neutral one):
- `negative`: is it the person in need, or anything negative? v3's minimal pairs carry a third event,
  something negative with nobody in need.
- `scrambled`: is it what the cue says, or its words? The cue's own words in a seeded random order
  (core/data/prompts.scrambled): the same lexicon, so a bag-of-words reader cannot tell them apart, and
  no scene. This is the words-only baseline of the behaviour metric.
On the instances where cue, neutral and the control event are all token-aligned, per metric: cue - neutral
(the TE), cue - control and control - neutral, each with the same instance bootstrap (the same seed and
units, so the resamples are paired). A cue effect that the control event matches is valence (negative) or
lexicon (scrambled); each verdict asks whether cue - control keeps the TE's sign with a CI excluding zero.
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator

import numpy as np
import pandas as pd
from tqdm import tqdm

from analyses.causal.common import UNITS, CueEffect, compliance, cue_effect
from analyses.causal.runs import BaseRuns, Engine, base_table, choice_runs, light_bases
from analyses.harness import PhaseRun, Rows, Tables, Units, final
from core.config import BehaviourConfig
from core.context import RunContext
from core.data.prompts import Against, Metric, aligned_instances, sample_instances
from core.data.schema import Instance

METRICS: tuple[Metric, ...] = ("continuation", "letter")
AGAINST: tuple[Against, ...] = ("neutral", "negative", "scrambled")
# each control event: what its verdict asks about, and the event in words
CONTROLS: dict[Against, tuple[str, str]] = {
    "negative": ("need rather than negativity", "a negative event with nobody in need"),
    "scrambled": ("meaning rather than words", "a scramble of the cue's words")}


def score_rows(metric: Metric, bases: dict[str, BaseRuns], against: Against = "neutral") -> pd.DataFrame:
    """behaviour_scores: one row per instance x condition x scored sequence (variant), its raw score,
    the sign it enters the metric with, and the compliance mass (letter) or summed log-prob (continuation).
    `against` names the corrupt prompt's event (the clean one always holds the cue)."""
    rows = []
    for iid, base in bases.items():
        for condition, lds, extra in (("clean", base.ld_clean, base.extra_clean),
                                      ("corrupt", base.ld_corrupt, base.extra_corrupt)):
            for v, pair in enumerate(base.pairs):
                rows.append({"instance_id": iid, "metric": metric, "against": against, "condition": condition,
                             "empathic_first": pair.empathic_first, "answer": pair.option or None,
                             "answer_tokens": pair.answer_len, "score": float(lds[v] * pair.sign),
                             "sign": pair.sign,
                             "compliance_mass": float(extra[v]) if metric == "letter" else np.nan,  # type: ignore[index]
                             "logprob_sum": float(extra[v]) if metric == "continuation" else np.nan})  # type: ignore[index]
    return pd.DataFrame(rows)


def instance_rows(metric: Metric, bases: dict[str, BaseRuns], against: Against = "neutral") -> pd.DataFrame:
    """behaviour_instances: the metric per instance and condition (orders averaged) and clean - corrupt
    (the cue's TE when `against` is the neutral event)."""
    return pd.DataFrame([{"instance_id": iid, "metric": metric, "against": against, "clean": b.value_clean,
                          "corrupt": b.value_corrupt,
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


def contrasts(control: Against) -> tuple[str, str, str]:
    """The three contrasts of a control's table rows."""
    return "cue - neutral", f"cue - {control}", f"{control} - neutral"


def control_rows(metric: Metric, neutral: dict[str, BaseRuns], other: dict[str, BaseRuns], te: CueEffect,
                 n_boot: int, seed: int, control: Against = "negative") -> list[dict]:
    """behaviour_controls: the three contrasts of cue, neutral and the `control` event on the instances that
    have all three aligned, with paired instance-bootstrap CIs (the letter metric's gate carried over)."""
    ids = [iid for iid in neutral if iid in other]
    cue_neu = np.array([neutral[i].value_clean - neutral[i].value_corrupt for i in ids])
    cue_other = np.array([other[i].value_clean - other[i].value_corrupt for i in ids])
    rows = []
    for contrast, values in zip(contrasts(control), (cue_neu, cue_other, cue_neu - cue_other), strict=True):
        eff = CueEffect.of(values, n_boot, seed, UNITS[metric], te.withheld) if len(ids) else None
        rows.append({"metric": metric, "control": control, "units": UNITS[metric], "contrast": contrast,
                     "n_instances": len(ids), "effect": eff.mean if eff else np.nan,
                     "ci_low": eff.ci_low if eff else np.nan, "ci_high": eff.ci_high if eff else np.nan,
                     "share_positive": float(np.mean(values > 0)) if len(ids) else np.nan,
                     "decided": bool(eff and eff.decided)})
    return rows


def control_verdict(metric: Metric, rows: list[dict], control: Against = "negative") -> dict[str, str]:
    """Is the cue's effect more than the `control` event's? Yes when cue - control is decided with the sign
    of cue - neutral; no when cue - neutral is decided, control - neutral is decided with its sign and
    cue - control is not; else undetermined."""
    by = {r["contrast"]: r for r in rows}
    te, rest, alone = (by[c] for c in contrasts(control))
    topic, event = CONTROLS[control]
    question = f"Is the cue's effect about {topic} ({metric} metric)?"
    if not te["n_instances"]:
        return {"question": question,
                "answer": f"undetermined: no instance has its cue, neutral and {control} events all token-aligned",
                "evidence": f"the dataset's minimal pairs give no aligned {control} event"}
    if te["decided"] and rest["decided"] and np.sign(te["effect"]) == np.sign(rest["effect"]):
        answer = f"yes: the cue moves the metric more than {event}"
    elif te["decided"] and alone["decided"] and np.sign(alone["effect"]) == np.sign(te["effect"]) \
            and not rest["decided"]:
        answer = f"no: {event} moves the metric like the cue"
    else:
        answer = "undetermined: the contrasts' 95% CIs do not settle it"
    evidence = "; ".join(f"{r['contrast']} {r['effect']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}] {r['units']}"
                         for r in rows) + f" over {te['n_instances']} instances with all three events aligned"
    return {"question": question, "answer": answer, "evidence": evidence}


def _base_runs(ctx: RunContext, engine: Engine, instances: list[Instance]
               ) -> Generator[Units, Rows, tuple[dict[Against, dict[Metric, dict[str, BaseRuns]]], list[str]]]:
    """Base runs (cue vs each event) of every instance aligned for the neutral event, under both metrics
    (analyses/causal/runs.choice_runs: one call per instance), and the ids skipped as not aligned. Each
    instance is a work unit keeping its base runs' scores (`behaviour_base_runs`): a kill loses at most one."""
    tok = ctx.model.tokenizer
    variants = {(a, m): aligned_instances(tok, instances, m, a)[0] for a in AGAINST for m in METRICS}
    answered = {a: variants[(a, "continuation")] for a in AGAINST}
    skipped = [inst.instance_id for inst in instances if inst.instance_id not in answered["neutral"]]

    def compute(todo: list[str]) -> Iterator[tuple[str, Tables]]:
        for iid in tqdm(todo, desc="behaviour", unit="inst", file=sys.stderr):
            runs = choice_runs(engine, {a: answered[a][iid] for a in AGAINST if iid in answered[a]})
            yield iid, {"behaviour_base_runs": pd.concat([base_table(base).assign(metric=m, against=a)
                                                          for a, by in runs.items() for m, base in by.items()],
                                                         ignore_index=True)}

    stored = (yield Units(tuple(answered["neutral"]), compute)).tables.get("behaviour_base_runs")
    out: dict[Against, dict[Metric, dict[str, BaseRuns]]] = {a: {m: {} for m in METRICS} for a in AGAINST}
    for (a, m), pairs in variants.items():
        if stored is not None:
            out[a][m] = light_bases(stored[(stored.metric == m) & (stored.against == a)], pairs)
    return out, skipped


def run(cfg: BehaviourConfig, ctx: RunContext) -> PhaseRun:
    """Base runs of every sampled instance under both metrics; scores, per-instance TEs, effects, verdicts."""
    instances = sample_instances(ctx.dataset.instances_in(cfg.splits), cfg.instances_per_family, ctx.seed)
    bases, skipped = yield from _base_runs(ctx, Engine(ctx.model, cfg.batch_rows, metric="continuation"), instances)
    scores, per_instance, effects, verdicts, controls = [], [], [], [], []
    for metric in METRICS:
        neutral = bases["neutral"][metric]
        te = cue_effect(neutral, metric, cfg.min_mass, cfg.n_bootstrap, ctx.seed)
        inst = instance_rows(metric, neutral)
        scores += [score_rows(metric, bases[a][metric], a) for a in AGAINST]
        per_instance += [inst] + [instance_rows(metric, bases[a][metric], a) for a in CONTROLS]
        effects.append(effect_row(metric, inst, te, metric == cfg.metric))
        verdicts.append(verdict(metric, inst, te, metric == cfg.metric))
        if skipped:
            verdicts[-1]["evidence"] += f"; {len(skipped)} instances skipped (cue and neutral not token-aligned)"
        for control in CONTROLS:
            rows = control_rows(metric, neutral, bases[control][metric], te, cfg.n_bootstrap, ctx.seed, control)
            controls += rows
            if metric == cfg.metric:
                verdicts.append(control_verdict(metric, rows, control))
    yield final({"behaviour_scores": pd.concat(scores, ignore_index=True),
                 "behaviour_instances": pd.concat(per_instance, ignore_index=True),
                 "behaviour_effects": pd.DataFrame(effects), "behaviour_controls": pd.DataFrame(controls),
                 "behaviour_verdicts": pd.DataFrame(verdicts)})
