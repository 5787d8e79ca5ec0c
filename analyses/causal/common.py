"""Helpers shared by the causal phases (patching, mediation): directions, behaviour, summaries.

Not a phase itself: the behaviour table and its verdict, the per-layer probe directions as tensors,
and the bootstrap summary of per-instance effects.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from analyses.causal.runs import BaseRuns
from core.context import RunContext
from core.errors import InputError
from core.stats.directions import load_directions
from core.stats.estimates import mean_ci


def probes_folder(ctx: RunContext) -> Path:
    """Where the probes phase published this model's tables (same profile as this run)."""
    return ctx.phase_dir("probes")


def directions_for(ctx: RunContext, method: str, layers: list[int]) -> dict[int, torch.Tensor]:
    """Unit probe directions (float32 tensors) of `method` at every requested layer."""
    folder = probes_folder(ctx)
    found = load_directions(folder, method)
    missing = [layer for layer in layers if layer not in found]
    if missing:
        raise InputError(folder, f"no {method} probe direction for layers {missing}; run probes on them",
                         field="layers")
    return {layer: torch.from_numpy(found[layer]) for layer in layers}


def summarise(effects: pd.DataFrame, by: list[str], n_boot: int, seed: int) -> pd.DataFrame:
    """Per group: mean recovered fraction over instances with a defined one and its CI; `pooled`, the
    ratio of mean LD changes over all instances; and the LD change itself (delta, logits) with its CI,
    defined even where the cue's effect is too small for a recovered fraction."""
    rows = []
    for key, g in effects.groupby(by, sort=True):
        lo, hi = mean_ci(g.recovered.to_numpy(), n_boot, seed)
        gap = g.ld_clean.mean() - g.ld_corrupt.mean()
        pooled = (g.ld_patched.mean() - g.ld_corrupt.mean()) / gap if gap != 0 else np.nan
        delta = g.ld_patched - g.ld_corrupt
        d_lo, d_hi = mean_ci(delta.to_numpy(), n_boot, seed)
        rows.append({**dict(zip(by, key, strict=True)), "mean": float(np.nanmean(g.recovered))
                     if g.recovered.notna().any() else np.nan, "ci_low": lo, "ci_high": hi,
                     "n": int(g.recovered.notna().sum()), "pooled": float(pooled), "delta_mean": float(delta.mean()),
                     "delta_ci_low": d_lo, "delta_ci_high": d_hi, "n_instances": len(g)})
    return pd.DataFrame(rows)


def behaviour_rows(bases: Mapping[str, BaseRuns]) -> pd.DataFrame:
    """patching_behaviour: LD per instance and condition, both orders and their mean."""
    rows = []
    for iid, base in bases.items():
        for condition, ld in (("clean", base.ld_clean), ("corrupt", base.ld_corrupt)):
            rows.append({"instance_id": iid, "condition": condition, "logit_diff": float(ld.mean()),
                         "ld_given_order": float(ld[0]), "ld_swapped_order": float(ld[1])})
    return pd.DataFrame(rows)


def behaviour_verdict(table: pd.DataFrame, skipped: list[str], n_boot: int, seed: int) -> dict[str, str]:
    """How often the empathic option wins under each condition, and the cue's effect on LD."""
    parts = []
    for condition in ("clean", "corrupt"):
        ld = table[table.condition == condition].logit_diff.to_numpy()
        lo, hi = mean_ci(ld, n_boot, seed)
        parts.append(f"{condition}: empathic preferred in {np.mean(ld > 0):.0%} of {ld.size} instances, "
                     f"mean LD {ld.mean():.3f} [{lo:.3f}, {hi:.3f}]")
    wide = table.pivot(index="instance_id", columns="condition", values="logit_diff")
    te = (wide.clean - wide.corrupt).to_numpy()
    lo, hi = mean_ci(te, n_boot, seed)
    parts.append(f"cue effect (clean - corrupt) {te.mean():.3f} [{lo:.3f}, {hi:.3f}]")
    if skipped:
        parts.append(f"{len(skipped)} instances skipped (cue and neutral not token-aligned)")
    prefers = np.mean(table[table.condition == "clean"].logit_diff > 0)
    answer = "near chance" if abs(prefers - 0.5) < 0.15 else ("mostly empathic" if prefers > 0.5 else "mostly task")
    sign = "raises" if lo > 0 else ("lowers" if hi < 0 else "does not significantly change")
    return {"question": "Does the model prefer the empathic option, and does the cue move it?",
            "answer": f"{answer} with the cue; the cue {sign} the empathic logit difference",
            "evidence": "; ".join(parts)}
