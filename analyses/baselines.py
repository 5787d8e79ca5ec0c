"""baselines — is the probe's AUROC an artifact? Random-direction and within-pair permutation nulls.

Method. Per layer, the probes of the `probes` phase (fit on train families, read from
probes_directions) are scored on the test split; each probe AUROC carries a 95% percentile CI from
an instance-clustered bootstrap (all test texts of a scenario instance resampled together). Against them:
- random-direction null (baselines_random): N seeded unit directions (uniform on the sphere), each
  scored by AUROC on the same test texts. v0 used 100 unseeded draws at one layer; 12 of them reached
  AUROC > 0.9 or < 0.1, so an AUROC of 1.0 alone says little in d >> n. p_holm adjusts the per-layer
  p-values of one method over the layers (Holm);
- within-pair permutation null (baselines_permutation), for both probes: the probe is refit on the
  train texts with the labels of each train empathy pair (the empathic and non-empathic text of one
  instance and task outcome) swapped with probability 1/2, then scored on test. Class sizes and the
  pair structure stay fixed, so the null is "the probe finds nothing beyond which instance a text
  belongs to". ONE swap matrix (seeded once) is used at every layer, so the max over layers of
  |AUROC - .5| per swap gives a family-wise p (Westfall-Young single-step max-T) beside each per-layer
  p (core.stats.nulls.max_stat_p_values). Mean-difference refits are one matmul per layer
  (`n_permutations` swaps, every layer). A logistic refit is an sklearn lbfgs fit (~30 ms on one idle
  core, several times that on the shared 2-core box: 30 layers x 1000 swaps would take 15+ minutes),
  so it uses the first `logistic_permutations` rows of the same swap matrix at `logistic_layers`
  (plus its chosen layer); its family-wise p is over those layers only (n_family_layers and the
  row's `note` say so). Each row's ci_low/ci_high is the probe AUROC's clustered CI (as in baselines_random).
p = (1 + #{|AUROC_null - .5| >= |AUROC_probe - .5|}) / (N + 1), so the smallest p is 1 / (N + 1);
n_extreme counts null AUROCs above 0.95 or below 0.05.
Known weakness: a swap pattern refits sum_i s_i (x_pos,i - x_neg,i), whose share of a strong true
difference (~1/sqrt(#pairs)) can dominate the noise in few effective dimensions; the refit null
directions then keep pointing along the signal, the null holds AUROCs far from .5 and the test is
conservative (valid, never anti-conservative: tests/core/stats/test_pair_null.py). Read a large p
beside null_q95: a null that reaches the probe's AUROC is this leak, not evidence of no signal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyses.harness import PhaseRun, final
from core.config import BaselinesConfig, Params
from core.context import RunContext
from core.data import Dataset
from core.data.splits import SplitNeed, assign_splits
from core.figures import plot_null
from core.stats.directions import resolve_layers
from core.stats.estimates import auroc, cluster_bootstrap_auroc
from core.stats.multiple import holm
from core.stats.nulls import (
    logistic_refit_aurocs,
    max_stat_p_values,
    mean_diff_refit_aurocs,
    pair_swaps,
    random_direction_aurocs,
    summarise,
)
from core.store import read_table


def train_pairs(ds: Dataset, train: np.ndarray) -> np.ndarray:
    """[m, 2] positions (within the train texts, in ds.texts order) of the empathic and non-empathic text
    of each empathy pair whose two texts are both train."""
    position = np.cumsum(train) - 1
    row = {t.text_id: i for i, t in enumerate(ds.texts)}
    pairs = [(row[p.positive.text_id], row[p.negative.text_id]) for p in ds.pairs if p.kind.startswith("empathy")]
    kept = [(position[a], position[b]) for a, b in pairs if train[a] and train[b]]
    return np.array(kept, dtype=int).reshape(-1, 2)


def pair_null(method: str, x_train: np.ndarray, swaps: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
              c: float, seed: int) -> np.ndarray:
    """[n_swaps, L] test AUROCs of `method` refit on each row of `swaps` at each layer of x_* [L, n, d]."""
    pairs = zip(x_train, x_test, strict=True)
    if method == "mean_diff":
        return np.stack([mean_diff_refit_aurocs(x, swaps, xe, y_test) for x, xe in pairs], axis=1)
    return np.stack([logistic_refit_aurocs(x, swaps, xe, y_test, c, seed) for x, xe in pairs], axis=1)


def permutation_rows(observed: np.ndarray, null: np.ndarray) -> list[dict]:
    """Per layer: per-layer and family-wise (max over the layers given) p-values and the null's shape."""
    p_layer, p_family = max_stat_p_values(observed, null)
    family_q95 = 0.5 + float(np.quantile(np.abs(null - 0.5).max(axis=1), 0.95))
    rows = []
    for j, obs in enumerate(observed):
        col = null[:, j]
        q05, q50, q95 = np.quantile(col, [0.05, 0.5, 0.95])
        rows.append({"auroc_probe": float(obs), "p_layer": float(p_layer[j]), "p_family": float(p_family[j]),
                     "n_family_layers": int(null.shape[1]), "null_mean": float(col.mean()),
                     "null_std": float(col.std()), "null_q05": float(q05), "null_q50": float(q50),
                     "null_q95": float(q95), "null_family_q95": family_q95,
                     "n_extreme": int(((col > 0.95) | (col < 0.05)).sum())})
    return rows


def _note(cfg: BaselinesConfig, method: str) -> str:
    if method == "mean_diff":
        return "mean-difference refits on every swap (one matmul per layer)"
    return (f"logistic refits on the first {cfg.logistic_permutations} of the same swaps: an sklearn lbfgs fit "
            "each (~30 ms on one idle core), too slow for every swap; family-wise p over this method's layers here")


def _probe_scores(x_test: np.ndarray, directions: pd.DataFrame) -> dict[tuple[int, str], np.ndarray]:
    return {(int(layer), m): x_test[int(layer)] @ np.asarray(d, dtype=np.float64)
            for layer, m, d in zip(directions.layer, directions.method, directions.direction, strict=True)}


def _random_table(cfg: BaselinesConfig, x_test: np.ndarray, y_test: np.ndarray, clusters: np.ndarray,
                  scores: dict[tuple[int, str], np.ndarray], layers: list[int], seed: int) -> tuple[pd.DataFrame, dict]:
    rows, nulls = [], {}
    for layer in layers:
        nulls[layer] = random_direction_aurocs(x_test[layer], y_test, cfg.n_directions, seed + layer)
        for (at, method), s in scores.items():
            if at == layer:
                lo, hi = cluster_bootstrap_auroc(s, y_test, clusters, cfg.n_bootstrap, seed + layer)
                rows.append({"layer": layer, "method": method, "n_directions": cfg.n_directions,
                             **summarise(auroc(s, y_test), nulls[layer]), "ci_low": lo, "ci_high": hi})
    table = pd.DataFrame(rows)
    table["p_holm"] = table.groupby("method").p_value.transform(lambda p: holm(p.to_numpy())[0])
    return table, nulls


def _permutation_table(cfg: BaselinesConfig, ctx: RunContext, acts: np.ndarray, split: dict[str, np.ndarray],
                       layer_sets: dict[str, list[int]], random: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    ds, (train, test) = ctx.dataset, (split["train"], split["test"])
    y_train, y_test = split["y"][train], split["y"][test]
    swaps = pair_swaps(y_train, train_pairs(ds, train), cfg.n_permutations, ctx.seed + 1)  # one set: all layers
    tables, nulls = [], {}
    for method, layers in layer_sets.items():
        rows_of = swaps if method == "mean_diff" else swaps[: cfg.logistic_permutations]
        null = pair_null(method, acts[layers][:, train], rows_of, acts[layers][:, test], y_test,
                         ctx.params.probes.logistic_c, ctx.seed)
        observed = random.set_index(["method", "layer"]).loc[method].auroc_probe.reindex(layers).to_numpy()
        table = pd.DataFrame(permutation_rows(observed, null)).assign(layer=layers, method=method)
        ci = random[random.method == method].set_index("layer")[["ci_low", "ci_high"]].reindex(layers)
        tables.append(table.assign(ci_low=ci.ci_low.to_numpy(), ci_high=ci.ci_high.to_numpy(), null="within_pair",
                                   n_permutations=len(rows_of), note=_note(cfg, method)))
        nulls.update({(layer, method): null[:, j] for j, layer in enumerate(layers)})
    front = ["layer", "method", "null", "n_permutations", "auroc_probe", "ci_low", "ci_high", "p_layer", "p_family"]
    out = pd.concat(tables, ignore_index=True)
    return out[front + [c for c in out.columns if c not in front]], nulls


def _layer_sets(cfg: BaselinesConfig, methods: set[str], layers: list[int], selected: pd.DataFrame,
                n_layers: int) -> dict:
    sets = {}
    if "mean_diff" in methods:
        sets["mean_diff"] = layers
    if "logistic" in methods:  # negative logistic_layers count from the last block (one grid, models of any depth)
        grid = set(resolve_layers(cfg.logistic_layers, n_layers, "params.yaml baselines.logistic_layers")) & set(layers)
        sets["logistic"] = sorted(grid | set(selected[selected.method == "logistic"].layer.astype(int)) & set(layers))
    return sets


def _samples(ctx: RunContext, chosen: set[int], random_nulls: dict, pair_nulls: dict,
             observed: pd.DataFrame) -> pd.DataFrame:
    """Null samples and histograms at the chosen layers."""
    samples = []
    for layer in sorted(chosen & set(random_nulls)):
        probe = observed.set_index(["layer", "method"]).auroc_probe
        kinds = {"random": ("mean_diff", random_nulls[layer])}
        kinds |= {f"within_pair_{m}": (m, pair_nulls[(at, m)]) for at, m in pair_nulls if at == layer}
        for kind, (method, null) in kinds.items():
            samples += [{"layer": layer, "kind": kind, "auroc": v} for v in null]
            if (layer, method) in probe.index:
                plot_null(ctx, null, float(probe.loc[(layer, method)]), layer, kind)
    return pd.DataFrame(samples, columns=["layer", "kind", "auroc"])


def splits_needed(params: Params) -> SplitNeed:
    """The nulls refit on train and score on test, under the probes' split."""
    return SplitNeed(params.probes.split, (("train",), ("test",)), "train texts to refit the nulls and test "
                     "texts to score them")


def run(cfg: BaselinesConfig, ctx: RunContext) -> PhaseRun:
    """Both nulls for every layer; null samples and histograms at the chosen layers."""
    ds = ctx.dataset
    probes_dir = ctx.phase_dir("probes")
    directions, selected = read_table(probes_dir, "probes_directions"), read_table(probes_dir, "probes_selected")
    acts = ctx.activations([t.text_id for t in ds.texts])  # core.stats.nulls works in float64
    splits = np.array(assign_splits(ds.texts, ctx.params.probes.split))
    split = {"train": splits == "train", "test": splits == "test", "y": np.array([t.empathic for t in ds.texts])}
    test = split["test"]
    layers = sorted(int(x) for x in directions.layer.unique()) if cfg.layers == "all" else list(cfg.layers)
    directions = directions[directions.layer.isin(layers)]
    clusters = np.array([t.instance_id for t in ds.texts])[test]
    random, random_nulls = _random_table(cfg, acts[:, test], split["y"][test], clusters,
                                         _probe_scores(acts[:, test], directions), layers, ctx.seed)
    sets = _layer_sets(cfg, set(directions.method), layers, selected, acts.shape[0])
    permutation, pair_nulls = _permutation_table(cfg, ctx, acts, split, sets, random)
    samples = _samples(ctx, set(selected.layer.astype(int)), random_nulls, pair_nulls, random)
    yield final({"baselines_random": random, "baselines_permutation": permutation,
                 "baselines_null_samples": samples})
