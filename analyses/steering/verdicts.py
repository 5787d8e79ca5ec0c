"""Steering verdicts: prompt-clustered effects against alpha = 0, a sign-flip test, Holm, success, elbow, breakdown.

Unit. The prompt is the independent unit: the samples of one prompt share its situation, so they are
not independent draws (audit A3). Each generation is paired with its alpha = 0 twin (same prompt, same
seed); a prompt's effect at alpha is the mean over its samples of score(alpha) - score(0) (the forced-
choice LD has no sampling, so it is one value per prompt). effect(alpha) = the mean of the prompt
effects (prompts weigh equally); its 95% CI is a percentile bootstrap over prompts (marginal, not
adjusted for multiplicity).

Test. p_raw of H0 "steering by alpha does not shift the score" is a two-sided sign-flip test over
prompts: under H0 the labels alpha and 0 are exchangeable within a prompt, so each prompt effect is
as likely to have either sign; the statistic is |mean prompt effect|. With n prompts the 2^n sign
patterns are enumerated when 2^n <= `n_signflips` (exact p, at least 2 / 2^n), else `n_signflips`
random patterns give p = (1 + #{|null| >= |observed|}) / (N + 1). Fewer than `min_units` prompts:
no CI, no test. alpha = 0 is the reference, never a test.

Multiplicity. The Holm family is every alpha != 0 x scorer within one (layer, prompt grouping):
one family per steered layer and per family of prompts (each scenario family, the pooled task-
conflict and the pooled task-free group); p_holm is the Holm-adjusted p (family-wise error `fwer`).
Untested cells (too few prompts) are outside the family. Because an exact test over n prompts cannot
give p below 2 / 2^n, a group with 2^(n-1) < m / fwer (m tests) can never succeed: its verdicts stay
undetermined, which is the honest reading of so few prompts.

Verdict. success: p_holm <= fwer AND the effect has alpha's sign. verdict: success, opposite (Holm-
significant against alpha's sign), undetermined (not significant or not tested), reference (alpha 0).
Elbow alpha: per sign, the smallest |alpha| from which every larger |alpha| of that sign in the grid
also succeeds (stable_elbow; NaN when the largest fails). Breakdown alpha: per sign, the smallest
|alpha| whose median perplexity passes `breakdown_perplexity` x the alpha = 0 median or whose share
of degenerate outputs passes `breakdown_degenerate`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.config import SteeringConfig
from core.stats import nulls
from core.stats.estimates import mean_ci
from core.stats.multiple import holm


@dataclass(frozen=True)
class Rules:
    """The knobs of the verdicts (params.yaml `steering`)."""

    n_boot: int
    n_signflips: int
    min_prompts: int
    fwer: float
    ppl_ratio: float
    degenerate_rate: float

    @classmethod
    def of(cls, cfg: SteeringConfig) -> Rules:
        """The verdict knobs of a steering config."""
        return cls(cfg.n_bootstrap, cfg.n_signflips, cfg.min_units, cfg.fwer, cfg.breakdown_perplexity,
                   cfg.breakdown_degenerate)


def prompt_effects(values: pd.DataFrame) -> dict[float, np.ndarray]:
    """alpha -> per prompt, the mean over its samples of score(alpha) - score(0) (pairs present at both)."""
    per = values.groupby(["alpha", "prompt_id", "sample"], as_index=False)["value"].mean()
    base = per[per.alpha == 0].drop(columns="alpha").rename(columns={"value": "base"})
    joined = per.merge(base, on=["prompt_id", "sample"]).assign(diff=lambda d: d.value - d.base)
    joined = joined[np.isfinite(joined["diff"])]
    by_prompt = joined.groupby(["alpha", "prompt_id"])["diff"].mean().reset_index()
    return {float(a): g["diff"].to_numpy(dtype=np.float64) for a, g in by_prompt.groupby("alpha")}


def sign_flip_p(effects: np.ndarray, n_signflips: int, seed: int) -> float:
    """Two-sided p of mean(effects) = 0, flipping each prompt's sign (exact when 2^n <= n_signflips)."""
    d = np.asarray(effects, dtype=np.float64)
    d = d[np.isfinite(d)]
    # one column of the shared test; the flips are seeded per (seed, number of prompts)
    return float(nulls.sign_flip_p(d, n_signflips, (seed, d.size), min_n=1)[0]) if d.size else float("nan")


def effects(values: pd.DataFrame, rules: Rules, seed: int) -> pd.DataFrame:
    """One row per alpha: effect, prompt-bootstrap ci_low / ci_high, sign-flip p_raw, n_prompts."""
    rows = []
    for alpha, diffs in sorted(prompt_effects(values).items()):
        lo, hi = mean_ci(diffs, rules.n_boot, seed, rules.min_prompts)
        tested = alpha != 0 and diffs.size >= rules.min_prompts
        rows.append({"alpha": alpha, "effect": float(diffs.mean()) if diffs.size else float("nan"),
                     "ci_low": lo, "ci_high": hi,
                     "p_raw": sign_flip_p(diffs, rules.n_signflips, seed) if tested else float("nan"),
                     "n_prompts": int(diffs.size)})
    return pd.DataFrame(rows, columns=["alpha", "effect", "ci_low", "ci_high", "p_raw", "n_prompts"])


def success(alpha: float, effect: float, rejected: bool) -> bool:
    """True only when Holm rejects H0 and the effect lies on the side of zero that alpha's sign intends."""
    return bool(rejected and alpha != 0 and np.isfinite(effect) and np.sign(effect) == np.sign(alpha))


def decide(table: pd.DataFrame, fwer: float) -> pd.DataFrame:
    """Holm over every tested row of one family: p_holm, success and verdict columns added."""
    p_holm, rejected = holm(table.p_raw.to_numpy(), fwer)
    out = table.assign(p_holm=p_holm)
    out["success"] = [success(a, e, r) for a, e, r in zip(out.alpha, out.effect, rejected, strict=True)]
    opposite = rejected & ~out.success.to_numpy()
    out["verdict"] = np.select([out.alpha == 0, out.success, opposite], ["reference", "success", "opposite"],
                               "undetermined")
    return out


def smallest_per_sign(alphas: pd.Series, hits: pd.Series) -> dict[int, float]:
    """sign -> the alpha of smallest |alpha| among hits of that sign (NaN when none)."""
    out = {}
    for sign in (1, -1):
        chosen = [float(a) for a, h in zip(alphas, hits, strict=True) if h and np.sign(a) == sign]
        out[sign] = min(chosen, key=abs) if chosen else float("nan")
    return out


def stable_elbow(alphas: pd.Series, hits: pd.Series) -> dict[int, float]:
    """sign -> the smallest |alpha| from which every larger |alpha| of that sign in the grid succeeds.

    One significant alpha amid failures is not a dose-response (audit A4: the smallest single
    significant alpha is a multiple-comparisons artefact); the elbow must start a run of successes
    that reaches the grid's end. NaN when the largest |alpha| of the sign fails or the sign is absent."""
    out = {}
    for sign in (1, -1):
        grid = sorted(((abs(float(a)), bool(h)) for a, h in zip(alphas, hits, strict=True) if np.sign(a) == sign),
                      reverse=True)
        elbow = float("nan")
        for magnitude, hit in grid:  # walk down from the largest |alpha| while every step succeeds
            if not hit:
                break
            elbow = sign * magnitude
        out[sign] = elbow
    return out


def breakdown(coherence: pd.DataFrame, ppl_ratio: float, degenerate_rate: float) -> dict[int, float]:
    """sign -> breakdown alpha from per-generation `alpha`, `perplexity`, `degenerate`."""
    per = coherence.groupby("alpha").agg(ppl=("perplexity", "median"), deg=("degenerate", "mean")).reset_index()
    base = per.loc[per.alpha == 0, "ppl"]
    base_ppl = float(base.iloc[0]) if len(base) else float("nan")
    broken = (per.ppl > ppl_ratio * base_ppl) | (per.deg > degenerate_rate) | per.ppl.isna()
    return smallest_per_sign(per.alpha, broken & (per.alpha != 0))


def group_seed(seed: int, *key: object) -> int:
    """A stable per-group resampling seed (independent resamples across groups, reproducible)."""
    return seed + zlib.crc32("|".join(map(str, key)).encode()) % 100_000


def group_verdicts(values: pd.DataFrame, coherence: pd.DataFrame, rules: Rules, seed: int,
                   *key: object) -> pd.DataFrame:
    """Every scorer x alpha of one (layer, prompt grouping) = one Holm family; elbow per scorer, breakdown."""
    parts = [effects(v, rules, group_seed(seed, *key, scorer)).assign(scorer=scorer)
             for scorer, v in values.groupby("scorer")]
    if not parts:
        return pd.DataFrame()
    table = decide(pd.concat(parts, ignore_index=True), rules.fwer)
    broke = breakdown(coherence, rules.ppl_ratio, rules.degenerate_rate)
    table["breakdown_alpha"] = [broke.get(int(s), float("nan")) for s in np.sign(table.alpha)]
    elbows = {scorer: stable_elbow(g.alpha, g.success) for scorer, g in table.groupby("scorer")}
    table["elbow_alpha"] = [elbows[c].get(int(s), float("nan")) for c, s in zip(table.scorer, np.sign(table.alpha),
                                                                                 strict=True)]
    return table


GEN_COLS = ["generation_id", "layer", "family", "task_free", "prompt_id", "sample", "alpha", "alpha_rel"]
SUMMARY_COLS = ["layer", "family", "scorer", "alpha", "alpha_rel", "effect", "ci_low", "ci_high", "p_raw", "p_holm",
                "n_prompts", "success", "verdict", "elbow_alpha", "breakdown_alpha"]


def _groups(gen: pd.DataFrame) -> list[tuple[str, pd.Series]]:
    """Each family alone, then the pooled task-conflict and task-free groups."""
    out = [(fam, gen.family == fam) for fam in sorted(gen.family.unique())]
    out += [("ALL:task_conflict", ~gen.task_free), ("ALL:task_free", gen.task_free)]
    return [(name, mask) for name, mask in out if mask.any()]


def summarise(gen: pd.DataFrame, scores: pd.DataFrame, coherence: pd.DataFrame, rules: Rules,
              seed: int) -> pd.DataFrame:
    """steering_summary rows for every layer x group x scorer x alpha (one Holm family per layer x group)."""
    gen = gen[GEN_COLS].copy()
    gen["task_free"] = gen.task_free.astype(bool)
    long = scores.merge(gen, on="generation_id")
    coh = coherence.merge(gen, on="generation_id")
    rel = gen.groupby(["layer", "alpha"]).alpha_rel.first()
    parts = []
    for layer in sorted(gen.layer.unique()):
        at = gen.layer == layer
        for name, mask in _groups(gen):
            ids = set(gen.generation_id[at & mask])
            table = group_verdicts(long[long.generation_id.isin(ids)], coh[coh.generation_id.isin(ids)], rules,
                                   seed, layer, name)
            if table.empty:
                continue
            table["layer"], table["family"] = int(layer), name
            table["alpha_rel"] = [float(rel[(layer, a)]) for a in table.alpha]
            parts.append(table)
    if not parts:
        return pd.DataFrame(columns=SUMMARY_COLS)
    return pd.concat(parts, ignore_index=True)[SUMMARY_COLS]
