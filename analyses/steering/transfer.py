"""steering_transfer — does another model's empathy direction, carried into this model, steer it?

Method. The steered model B is this run's; every other model A of the profile whose probes and
extraction are complete is a source. At B's steered layer L_B and A's layer L_A at the same relative
depth (core/stats/procrustes.matched_layer), an orthogonal Procrustes map W is fitted on the pooled
TRAIN-family activations of the same texts in both models (semi-orthogonal when the widths differ:
576 vs 640 between the embedded models), and A's unit probe direction at L_A is carried to W^T v,
renormalised. Three arms then steer B at L_B, each as alpha x a unit direction (so all three have the
same norm): `mapped` (A's carried direction), `own` (B's own probe direction) and `random` (a seeded
uniform unit direction in B's space). Every arm uses the same prompts, the same `transfer_alphas` and
the same per-row sampling seeds as the main sweep, so all arms share one set of alpha = 0 generations
(the intervention is the identity there) and each steered generation is paired with its alpha = 0 twin.
With `transfer_relative` the alphas are alpha_rel, multiples of B's median residual norm at L_B
(`steering_norms`): residual scales differ by 40x between the embedded models (SmolLM2 ~290 at its
steered layer, Gemma-3 ~11,500), so one raw alpha would steer one model and leave the other untouched.
The table keeps both `alpha` (what was added) and `alpha_rel`.

Effect of an arm at alpha, per scorer (the independent MiniLM classifier's P(empathic), the lexicon
rate, VADER): per prompt, the mean over samples of score(alpha) - score(0); the table reports the mean
over prompts with a 95% bootstrap CI over prompts (the prompt is the independent unit), and the
per-prompt contrasts mapped - random and mapped - own with their CIs. cosine(mapped, own) says how
close the carried direction lands to B's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from core import paths
from core.activations import cached_activations
from core.config import SteeringConfig
from core.context import RunContext
from core.data.lexicon import Lexicon
from core.data.prompts import prompt_ids
from core.data.textchecks import sentiment
from core.models.steer import Sampling, SteeredRow, Steering, generate_steered
from core.stats.directions import load_directions
from core.stats.estimates import mean_ci
from core.stats.procrustes import map_direction, matched_layer, procrustes

COLUMNS = ["source_model", "target_model", "source_layer", "layer", "arm", "alpha", "alpha_rel", "scorer", "n_prompts",
           "effect", "ci_low", "ci_high", "minus_random", "minus_random_ci_low", "minus_random_ci_high",
           "minus_own", "minus_own_ci_low", "minus_own_ci_high", "cosine_to_own"]


@dataclass(frozen=True)
class Arm:
    """One steering direction in B's space (unit norm) and where it came from."""

    name: str  # mapped | own | random
    direction: np.ndarray


@dataclass(frozen=True)
class Source:
    """A source model A, the layer its direction is taken from, and the three arms it yields in B."""

    model: str
    layer: int
    arms: tuple[Arm, ...]


def _train_acts(ctx: RunContext, alias: str, layer: int) -> np.ndarray:
    ids = [t.text_id for t in ctx.dataset.texts if t.split == "train"]
    acts, _ = cached_activations(ctx.params, alias, ctx.dataset, ids)
    return acts[layer].astype(np.float64)


def random_unit(d: int, seed: int) -> np.ndarray:
    """A uniform unit direction in R^d (a normalised Gaussian), seeded."""
    v = np.random.default_rng(seed).normal(size=d)
    return v / np.linalg.norm(v)


def sources(cfg: SteeringConfig, ctx: RunContext, layer: int, own: np.ndarray) -> list[Source]:
    """Every other model with probes and activations: its direction carried into this model at `layer`."""
    out = []
    n_target = int(ctx.model.n_layers)
    for other in ctx.params.run_models:
        folder = paths.phase_dir("probes", other, ctx.params.comparison)
        if other == ctx.alias or not folder.exists():
            continue
        try:
            directions = load_directions(folder, cfg.probe_method)
            target = _train_acts(ctx, ctx.alias, layer)
            src_layer = matched_layer(layer, n_target, max(directions) + 1)
            source = _train_acts(ctx, other, src_layer)
        except (RuntimeError, FileNotFoundError, ValueError):
            continue  # the source's extraction or probes are not complete: no row, not a wrong one
        mapped = map_direction(procrustes(source, target), directions[src_layer].astype(np.float64))
        own_unit = own.astype(np.float64) / np.linalg.norm(own)
        arms = (Arm("mapped", mapped), Arm("own", own_unit), Arm("random", random_unit(own.size, ctx.seed)))
        out.append(Source(other, src_layer, arms))
    return out


def _score(texts: list[str], classify: Callable[[list[str]], Any], lexicon: Lexicon) -> dict[str, np.ndarray]:
    return {"classifier": np.asarray(classify(texts), dtype=float),
            "lexicon": np.array([lexicon.rate(t) for t in texts]), "vader": np.array([sentiment(t) for t in texts])}


def generations(cfg: SteeringConfig, ctx: RunContext, prompts: list[Any], layer: int, arm: Arm, alphas: list[float],
                seed_of: Callable[[str, int], int]) -> pd.DataFrame:
    """(prompt_id, alpha, sample, text) of one arm: one generate call, the main sweep's seeds."""
    tok = ctx.model.tokenizer
    meta = [(i, a, s) for i in range(len(prompts)) for a in alphas for s in range(cfg.samples)]
    rows = [SteeredRow(i, a, seed_of(prompts[i].prompt_id, s)) for i, a, s in meta]
    steering = Steering(layer, torch.from_numpy(arm.direction.astype(np.float32)), cfg.positions)
    out = generate_steered(ctx.model, [prompt_ids(tok, p.text) for p in prompts], rows, steering,
                           Sampling(max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature, top_p=cfg.top_p))
    return pd.DataFrame({"prompt_id": [prompts[i].prompt_id for i, _, _ in meta], "alpha": [a for _, a, _ in meta],
                         "sample": [s for _, _, s in meta],
                         "text": [tok.decode(ids, skip_special_tokens=True).strip() for ids in out]})


def per_prompt_effects(scored: pd.DataFrame) -> pd.DataFrame:
    """[arm, alpha, scorer, prompt_id] -> mean over samples of score(alpha) - score(0) of the same seed."""
    base = scored[scored.alpha == 0].drop(columns=["arm", "alpha"]).rename(columns={"value": "base"})
    steered = scored[scored.alpha != 0].merge(base, on=["prompt_id", "sample", "scorer"], validate="many_to_one")
    steered = steered.assign(delta=steered.value - steered.base)
    return steered.groupby(["arm", "alpha", "scorer", "prompt_id"], as_index=False).delta.mean()


def _ci_columns(values: np.ndarray, prefix: str, cfg: SteeringConfig, seed: int) -> dict[str, float]:
    lo, hi = mean_ci(values, cfg.n_bootstrap, seed, cfg.min_units)
    return {prefix: float(np.nanmean(values)) if values.size else float("nan"),
            f"{prefix}_ci_low": lo, f"{prefix}_ci_high": hi}


def effect_rows(effects: pd.DataFrame, cfg: SteeringConfig, seed: int) -> list[dict[str, Any]]:
    """One row per arm x alpha x scorer: the effect and the paired contrasts against random and own."""
    wide = effects.pivot_table(index=["alpha", "scorer", "prompt_id"], columns="arm", values="delta").reset_index()
    rows = []
    for (alpha, scorer), group in wide.groupby(["alpha", "scorer"]):
        for arm in ("mapped", "own", "random"):
            row = {"arm": arm, "alpha": float(alpha), "scorer": scorer, "n_prompts": int(group[arm].notna().sum()),
                   **_ci_columns(group[arm].to_numpy(), "effect", cfg, seed)}
            row = {**row, "ci_low": row.pop("effect_ci_low"), "ci_high": row.pop("effect_ci_high")}
            for other in ("random", "own"):
                diff = (group[arm] - group[other]).to_numpy() if arm != other else np.array([])
                row.update(_ci_columns(diff, f"minus_{other}", cfg, seed))
            rows.append(row)
    return rows


def transfer_table(cfg: SteeringConfig, ctx: RunContext, prompts: list[Any], layer: int, own: np.ndarray,
                   classify: Callable[[list[str]], Any], lexicon: Lexicon, seed_of: Callable[[str, int], int],
                   norm: float) -> pd.DataFrame:
    """`steering_transfer`: every source model's carried direction vs this model's own vs random; `norm` is
    the layer's median residual norm (the unit of `transfer_alphas` when `transfer_relative`)."""
    scale = norm if cfg.transfer_relative else 1.0
    alphas = sorted({float(a) * scale for a in cfg.transfer_alphas} - {0.0})
    found = sources(cfg, ctx, layer, own) if alphas else []
    if not found:
        return pd.DataFrame(columns=COLUMNS)
    unit_own = own / np.linalg.norm(own)
    base = generations(cfg, ctx, prompts, layer, found[0].arms[1], [0.0], seed_of).assign(arm="none")
    rows = []
    for src in found:
        gens = [base] + [generations(cfg, ctx, prompts, layer, arm, alphas, seed_of).assign(arm=arm.name)
                         for arm in src.arms]
        gen = pd.concat(gens, ignore_index=True)
        long = pd.concat([gen.assign(scorer=name, value=v).drop(columns="text")
                          for name, v in _score(list(gen.text), classify, lexicon).items()])
        cosine = float(src.arms[0].direction @ unit_own)
        rows += [{"source_model": src.model, "target_model": ctx.alias, "source_layer": src.layer, "layer": layer,
                  **r, "alpha_rel": round(r["alpha"] / norm, 6),
                  "cosine_to_own": cosine if r["arm"] == "mapped" else float("nan")}
                 for r in effect_rows(per_prompt_effects(long), cfg, ctx.seed)]
    return pd.DataFrame(rows, columns=COLUMNS)
