"""baselines — is the probe's AUROC an artifact? Random-direction and label-permutation nulls.

Method. Per layer, the probes of the `probes` phase (fit on train families, read from
probes_directions) are scored on the test split. Against them:
- random-direction null: N seeded unit directions (uniform on the sphere), each scored by AUROC on
  the same test texts. v0 used 100 unseeded draws at one layer; 12 of them reached AUROC > 0.9 or
  < 0.1, so an AUROC of 1.0 alone says little in d >> n;
- label-permutation null: the mean-difference probe refit on N shufflings of the train labels
  (class sizes fixed) and scored on test — the fitted-direction comparator for a fitted probe.
p = (1 + #{|AUROC_null - .5| >= |AUROC_probe - .5|}) / (N + 1); n_extreme counts null AUROCs above
0.95 or below 0.05. Both nulls are vectorised: one matrix product and one rank pass per layer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyses.harness import PhaseRun, final
from core.config import BaselinesConfig
from core.context import RunContext
from core.data.splits import assign_splits
from core.figures import plot_null
from core.stats.estimates import auroc
from core.stats.nulls import permutation_aurocs, random_direction_aurocs, summarise
from core.store import read_table


def _layer_tables(cfg: BaselinesConfig, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                  y_test: np.ndarray, directions: pd.DataFrame, seed: int) -> tuple[list[dict], list[dict], dict]:
    randoms = random_direction_aurocs(x_test, y_test, cfg.n_directions, seed)
    perms = permutation_aurocs(x_train, y_train, x_test, y_test, cfg.n_permutations, seed + 1)
    rand_rows, perm_rows, observed = [], [], {}
    for method, direction in zip(directions.method, directions.direction, strict=True):
        observed[method] = auroc(x_test @ np.asarray(direction, dtype=np.float64), y_test)
        rand_rows.append({"method": method, "n_directions": cfg.n_directions, **summarise(observed[method], randoms)})
    if "mean_diff" in observed:
        stats = summarise(observed["mean_diff"], perms)
        perm_rows.append({"method": "mean_diff", "n_permutations": cfg.n_permutations,
                          **{k: stats[k] for k in ("auroc_probe", "p_value", "null_mean", "null_q95", "null_std")}})
    return rand_rows, perm_rows, {"random": randoms, "permutation": perms, "observed": observed}


def run(cfg: BaselinesConfig, ctx: RunContext) -> PhaseRun:
    """Both nulls for every layer; null samples and histograms at the chosen layers."""
    ds = ctx.dataset
    probes_dir = ctx.phase_dir("probes")
    directions, selected = read_table(probes_dir, "probes_directions"), read_table(probes_dir, "probes_selected")
    acts = ctx.activations([t.text_id for t in ds.texts])  # core.stats.nulls works in float64
    y = np.array([t.empathic for t in ds.texts])
    splits = np.array(assign_splits(ds.texts, ctx.params.probes.split))
    train, test = splits == "train", splits == "test"
    layers = sorted(directions.layer.unique()) if cfg.layers == "all" else list(cfg.layers)
    chosen = set(selected.layer)
    rand_rows, perm_rows, samples = [], [], []
    for layer in layers:
        layer_dirs = directions[directions.layer == layer]
        r, p, nulls = _layer_tables(cfg, acts[layer][train], y[train], acts[layer][test], y[test], layer_dirs,
                                    ctx.seed + int(layer))
        rand_rows += [{"layer": layer, **row} for row in r]
        perm_rows += [{"layer": layer, **row} for row in p]
        if layer in chosen:
            for kind in ("random", "permutation"):
                samples += [{"layer": layer, "kind": kind, "auroc": v} for v in nulls[kind]]
                plot_null(ctx, nulls[kind], nulls["observed"]["mean_diff"], int(layer), kind)
    yield final({"baselines_random": pd.DataFrame(rand_rows), "baselines_permutation": pd.DataFrame(perm_rows),
                 "baselines_null_samples": pd.DataFrame(samples)})
