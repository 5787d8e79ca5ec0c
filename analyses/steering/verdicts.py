"""Steering verdicts: paired effects against alpha = 0 with bootstrap CIs, success, elbow, breakdown.

A unit is what is resampled: (prompt, sample) for scores of generated text, the prompt alone for the
forced-choice logit difference (it has no sampling). Every unit is paired with itself at alpha = 0
(same prompt, same seed), so effect(alpha) = mean over units of score(alpha) - score(0), and its 95%
CI is a percentile bootstrap over units. Success needs the CI to exclude zero in the sign of alpha:
no change, a CI touching zero, alpha = 0 itself, or fewer than `min_units` units never succeed (v0
counted no change as success for negative alpha). Elbow alpha: per sign, the smallest |alpha| that
succeeds. Breakdown alpha: per sign, the smallest |alpha| whose median perplexity passes `ppl_ratio` x
the alpha = 0 median or whose share of degenerate outputs passes `degenerate_rate`.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from core.stats.estimates import mean_ci


def success(alpha: float, ci_low: float, ci_high: float) -> bool:
    """True only when the CI lies strictly on the side of zero that alpha's sign intends."""
    if alpha == 0 or not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return False
    return bool(ci_low > 0) if alpha > 0 else bool(ci_high < 0)


def paired_diffs(values: pd.DataFrame, unit_cols: list[str]) -> dict[float, np.ndarray]:
    """alpha -> score(alpha) - score(0) per unit present at both (values averaged within a unit)."""
    per_unit = values.groupby(["alpha", *unit_cols], as_index=False)["value"].mean()
    base = per_unit[per_unit.alpha == 0].drop(columns="alpha").rename(columns={"value": "base"})
    joined = per_unit.merge(base, on=unit_cols)
    return {float(a): (g.value - g.base).to_numpy(dtype=np.float64) for a, g in joined.groupby("alpha")}


def effects(values: pd.DataFrame, unit_cols: list[str], n_boot: int, seed: int, min_units: int) -> pd.DataFrame:
    """One row per alpha: effect, ci_low, ci_high, n_units, success."""
    rows = []
    for alpha, diffs in sorted(paired_diffs(values, unit_cols).items()):
        diffs = diffs[np.isfinite(diffs)]
        lo, hi = mean_ci(diffs, n_boot, seed, min_units)
        effect = float(diffs.mean()) if diffs.size else float("nan")
        rows.append({"alpha": alpha, "effect": effect, "ci_low": lo, "ci_high": hi, "n_units": int(diffs.size),
                     "success": success(alpha, lo, hi)})
    return pd.DataFrame(rows, columns=["alpha", "effect", "ci_low", "ci_high", "n_units", "success"])


def smallest_per_sign(alphas: pd.Series, hits: pd.Series) -> dict[int, float]:
    """sign -> the alpha of smallest |alpha| among hits of that sign (NaN when none)."""
    out = {}
    for sign in (1, -1):
        chosen = [float(a) for a, h in zip(alphas, hits, strict=True) if h and np.sign(a) == sign]
        out[sign] = min(chosen, key=abs) if chosen else float("nan")
    return out


def breakdown(coherence: pd.DataFrame, ppl_ratio: float, degenerate_rate: float) -> dict[int, float]:
    """sign -> breakdown alpha from per-generation `alpha`, `perplexity`, `degenerate`."""
    per = coherence.groupby("alpha").agg(ppl=("perplexity", "median"), deg=("degenerate", "mean")).reset_index()
    base = per.loc[per.alpha == 0, "ppl"]
    base_ppl = float(base.iloc[0]) if len(base) else float("nan")
    broken = (per.ppl > ppl_ratio * base_ppl) | (per.deg > degenerate_rate) | per.ppl.isna()
    return smallest_per_sign(per.alpha, broken & (per.alpha != 0))


def group_seed(seed: int, *key: object) -> int:
    """A stable per-group bootstrap seed (independent resamples across groups, reproducible)."""
    return seed + zlib.crc32("|".join(map(str, key)).encode()) % 100_000


def verdict_rows(values: pd.DataFrame, coherence: pd.DataFrame, unit_cols: list[str], n_boot: int, seed: int,
                 min_units: int, ppl_ratio: float, degenerate_rate: float) -> pd.DataFrame:
    """Effects of one (layer, group, scorer) with its elbow and breakdown alpha on every row."""
    table = effects(values, unit_cols, n_boot, seed, min_units)
    elbow = smallest_per_sign(table.alpha, table.success)
    broke = breakdown(coherence, ppl_ratio, degenerate_rate)
    sign = np.sign(table.alpha).astype(int)
    table["elbow_alpha"] = [elbow.get(s, float("nan")) for s in sign]
    table["breakdown_alpha"] = [broke.get(s, float("nan")) for s in sign]
    return table


# Units resampled per scorer: prompt x sample, except LD, which has no sampling (one value per prompt)
UNITS = {"forced_choice_ld": ["prompt_id"]}
GEN_COLS = ["generation_id", "layer", "family", "task_free", "prompt_id", "sample", "alpha", "alpha_rel"]
SUMMARY_COLS = ["layer", "family", "scorer", "alpha", "alpha_rel", "effect", "ci_low", "ci_high", "n_units",
                "success", "elbow_alpha", "breakdown_alpha"]


def _groups(gen: pd.DataFrame) -> list[tuple[str, pd.Series]]:
    """Each family alone, then the pooled task-conflict and task-free groups."""
    out = [(fam, gen.family == fam) for fam in sorted(gen.family.unique())]
    out += [("ALL:task_conflict", ~gen.task_free), ("ALL:task_free", gen.task_free)]
    return [(name, mask) for name, mask in out if mask.any()]


def summarise(gen: pd.DataFrame, scores: pd.DataFrame, coherence: pd.DataFrame, n_boot: int, seed: int,
              min_units: int, ppl_ratio: float, degenerate_rate: float) -> pd.DataFrame:
    """steering_summary rows for every layer x group x scorer x alpha."""
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
            if not ids:
                continue
            c = coh[coh.generation_id.isin(ids)]
            for scorer, values in long[long.generation_id.isin(ids)].groupby("scorer"):
                units = UNITS.get(str(scorer), ["prompt_id", "sample"])
                table = verdict_rows(values, c, units, n_boot, group_seed(seed, layer, name, scorer), min_units,
                                     ppl_ratio, degenerate_rate)
                table.insert(0, "scorer", scorer)
                table.insert(0, "family", name)
                table.insert(0, "layer", int(layer))
                table["alpha_rel"] = [float(rel[(layer, a)]) for a in table.alpha]
                parts.append(table)
    if not parts:
        return pd.DataFrame(columns=SUMMARY_COLS)
    return pd.concat(parts, ignore_index=True)[SUMMARY_COLS]


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
