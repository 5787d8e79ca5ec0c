"""Helpers shared by the causal phases (patching, mediation): directions, behaviour, summaries, tests.

Not a phase itself: the per-layer probe directions as tensors, the bootstrap summary of per-instance
effects, and the inference every causal verdict rests on:
- the cue's total effect (clean - corrupt behaviour metric per instance, mean with an instance
  bootstrap 95% CI): while that CI includes zero there is no effect to recover or mediate, and every
  verdict built on it is "undetermined"; under the letter metric it is also withheld while the median
  compliance mass P(A)+P(B) is below behaviour.min_mass (the letters then say little about the choice);
- a per-layer p-value from a sign-flip (randomisation) test over instances: under H0 each instance's
  effect is symmetric about zero, so flipping the signs of whole instances' effects leaves the mean's
  distribution unchanged; p = share of flips whose |mean| reaches the observed |mean| (every one of
  the 2^n flips when 2^n <= n_flips, exact; else n_flips random ones, +1-corrected). The SAME flips
  serve every layer, the unit resampled is the instance (its orders and positions move together);
- Holm's step-down adjustment (core.stats.multiple) across the layers of one family.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from analyses.causal.runs import BaseRuns
from core.context import RunContext
from core.data.prompts import Metric
from core.errors import InputError
from core.stats.directions import load_directions
from core.stats.estimates import mean_ci
from core.stats.multiple import holm
from core.stats.nulls import sign_flip_p


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


def summarise(effects: pd.DataFrame, by: list[str], n_boot: int, seed: int, n_flips: int, alpha: float
              ) -> pd.DataFrame:
    """Per group: mean recovered fraction over instances with a defined one and its CI; `pooled`, the
    ratio of mean LD changes over all instances; the LD change itself (delta, logits) with its CI,
    defined even where the cue's effect is too small for a recovered fraction; and the sign-flip p of
    the mean LD change (`delta_p`) with its Holm adjustment across layers (`delta_p_holm`)."""
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
    family = [c for c in by if c != "layer"]
    tests = layer_tests(effects.assign(delta=effects.ld_patched - effects.ld_corrupt), "delta", family, n_flips,
                        seed, alpha).rename(columns={"p": "delta_p", "p_holm": "delta_p_holm"})
    return pd.DataFrame(rows).merge(tests, on=by, how="left")


def layer_tests(effects: pd.DataFrame, value: str, family: list[str], n_flips: int, seed: int, alpha: float
                ) -> pd.DataFrame:
    """Per family x layer: sign-flip p of the mean of `value` over instances (the same flips at every
    layer of a family: instances are the rows) and its Holm adjustment across the family's layers."""
    out = []
    for key, g in effects.groupby(family, sort=True) if family else [((), effects)]:
        wide = g.pivot_table(index="instance_id", columns="layer", values=value, aggfunc="mean", dropna=False)
        p = sign_flip_p(wide.to_numpy(), n_flips, seed)
        keys = dict(zip(family, key if isinstance(key, tuple) else (key,), strict=True))
        out.append(pd.DataFrame({**keys, "layer": wide.columns.astype(int), "p": p, "p_holm": holm(p, alpha)[0]}))
    return pd.concat(out, ignore_index=True)


UNITS = {"continuation": "nats/token", "letter": "logits"}


def cue_effect(bases: Mapping[str, BaseRuns], metric: Metric, min_mass: float, n_boot: int, seed: int
               ) -> CueEffect:
    """The cue's total effect (clean - corrupt metric per instance) over `bases`, with the gate of the
    letter metric: withheld unless the median per-instance compliance mass P(A)+P(B) reaches min_mass."""
    te = np.array([b.value_clean - b.value_corrupt for b in bases.values()])
    withheld = ""
    if metric == "letter":
        mass = float(np.median([compliance(b) for b in bases.values()]))
        if not mass >= min_mass:
            withheld = f"letter compliance mass P(A)+P(B) has median {mass:.2f} < {min_mass} (behaviour.min_mass)"
    return CueEffect.of(te, n_boot, seed, UNITS[metric], withheld)


def compliance(base: BaseRuns) -> float:
    """An instance's letter compliance mass: mean P(A)+P(B) over its clean and corrupt runs of both orders."""
    if base.extra_clean is None or base.extra_corrupt is None:
        raise ValueError("the base runs kept no compliance mass")
    return float(np.mean([*base.extra_clean, *base.extra_corrupt]))


@dataclass(frozen=True)
class CueEffect:
    """The cue's total effect (clean - corrupt metric) over instances: mean and bootstrap 95% CI, its
    units, and why no verdict may rest on it even if the CI excludes zero (`withheld`, else "")."""

    mean: float
    ci_low: float
    ci_high: float
    units: str = "logits"
    withheld: str = ""

    @classmethod
    def of(cls, te: np.ndarray, n_boot: int, seed: int, units: str = "logits", withheld: str = "") -> CueEffect:
        """Mean and instance-bootstrap CI of per-instance total effects."""
        te = np.asarray(te, dtype=np.float64)
        return cls(float(np.mean(te)), *mean_ci(te, n_boot, seed), units, withheld)

    @property
    def decided(self) -> bool:
        """Whether the CI excludes zero and nothing withholds the metric (else no verdict can rest on it)."""
        return not self.withheld and bool(self.ci_low > 0 or self.ci_high < 0)

    def text(self) -> str:
        out = f"cue effect {self.mean:+.3f} [{self.ci_low:+.3f}, {self.ci_high:+.3f}] {self.units}"
        return f"{out} (withheld: {self.withheld})" if self.withheld else out
