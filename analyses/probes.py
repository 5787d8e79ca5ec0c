"""probes — is empathy linearly decodable, layer by layer, on held-out scenario families?

Method. For every decoder block L, two probes are fit on the pooled activations of the TRAIN
families only: the mean-difference direction (mean empathic − mean non-empathic, unit norm) and an
L2 logistic regression (standardised features, mapped back to a unit direction). A text's score is
its projection on the direction. AUROC (rank / Mann-Whitney form) is reported on every split with a
stratified bootstrap 95% CI. The layer is chosen per method by VALIDATION AUROC alone; the test split
is touched once, to report the chosen layer. Accuracy uses a threshold fixed on train (midpoint of
the class means), or — in the v0 profile only — v0's test-median threshold, for comparison. Splits
hold whole scenario families, never random pairs (v0's leak, flaw 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import ProbesConfig
from core.context import RunContext
from core.data import Text
from core.extract import open_cache
from core.probes import Probe, fit_probe
from core.stats import auroc, bootstrap_auroc

SPLITS = ("train", "validation", "test")


def split_arrays(acts: np.ndarray, texts: list[Text]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per split: (activations [layers, n, d], empathy labels [n])."""
    out = {}
    for split in SPLITS:
        idx = [i for i, t in enumerate(texts) if t.split == split]
        out[split] = (acts[:, idx], np.array([texts[i].empathic for i in idx]))
    return out


def _accuracy(probe: Probe, scores: np.ndarray, labels: np.ndarray, rule: str) -> float:
    threshold = float(np.median(scores)) if rule == "test_median" else probe.threshold
    return float(((scores >= threshold) == labels).mean())


def _layer_rows(cfg: ProbesConfig, data: dict, layer: int, n_layers: int, seed: int
                ) -> tuple[list[dict], dict[str, Probe]]:
    rows: list[dict] = []
    probes: dict[str, Probe] = {}
    x_train, y_train = data["train"][0][layer], data["train"][1]
    for method in cfg.methods:
        probe = probes[method] = fit_probe(method, x_train, y_train, cfg.logistic_c, seed)
        for split in SPLITS:
            x, y = data[split][0][layer], data[split][1]
            s = probe.score(x)
            lo, hi = bootstrap_auroc(s, y, cfg.n_bootstrap, seed + layer)
            rows.append({"layer": layer, "depth_frac": round((layer + 1) / n_layers, 4), "method": method,
                         "split": split, "auroc": auroc(s, y), "ci_low": lo, "ci_high": hi,
                         "accuracy": _accuracy(probe, s, y, cfg.threshold if split == "test" else "train"),
                         "n_pos": int(y.sum()), "n_neg": int((~y).sum())})
    return rows, probes


def run(cfg: ProbesConfig, ctx: RunContext) -> dict[str, pd.DataFrame]:
    """Fit and score probes for every layer from the activation cache (no model is loaded)."""
    ds = ctx.dataset
    cache = open_cache(ctx.params, ctx.alias, ds, ctx.activations_dir())
    if not cache.complete:
        raise RuntimeError(f"no complete activation cache at {cache.root}; run `extract` first")
    ctx.extra.update(dataset_hash=ds.sha256, model_revision=cache.manifest()["resolved_revision"])
    acts = cache.load([t.text_id for t in ds.texts])
    n_layers = acts.shape[0]
    layers = list(range(n_layers)) if cfg.layers == "all" else list(cfg.layers)
    data = split_arrays(acts, ds.texts)
    rows, directions = [], []
    for layer in layers:
        layer_rows, probes = _layer_rows(cfg, data, layer, n_layers, ctx.seed)
        rows += layer_rows
        directions += [{"layer": layer, "method": m, "threshold": p.threshold,
                        "direction": p.direction.tolist()} for m, p in probes.items()]
    table = pd.DataFrame(rows)
    return {"probes_auroc": table, "probes_selected": select_layers(table),
            "probes_directions": pd.DataFrame(directions)}


def select_layers(table: pd.DataFrame) -> pd.DataFrame:
    """Per method, the layer with the best validation AUROC, and its test numbers."""
    val = table[table.split == "validation"]
    best = val.loc[val.groupby("method").auroc.idxmax(), ["method", "layer", "auroc"]]
    best = best.rename(columns={"auroc": "val_auroc"})
    test = table[table.split == "test"][["method", "layer", "depth_frac", "auroc", "ci_low", "ci_high",
                                         "accuracy"]]
    out = best.merge(test, on=["method", "layer"]).rename(columns={"auroc": "test_auroc"})
    return out.reset_index(drop=True)
