"""probes — is empathy linearly decodable on held-out families, and is it more than a shortcut?

Method. For every decoder block L, two probes are fit on the pooled activations of the TRAIN
families: the mean-difference direction (unit norm) and an L2 logistic regression (standardised
features, mapped back to a unit direction). Scores are projections. AUROC (rank form) is reported on
every split with a stratified bootstrap 95% CI; the layer is chosen per method on VALIDATION AUROC
only, and the test split reports the chosen layer. Also computed, on the same splits:
- leave-one-family-out AUROC at the chosen layer (train on 11 families, test on the 12th);
- confound baselines: one-feature logistic regressions on text length, lexicon count and
  format-marker count (v0's markdown/length cues);
- the length control at the chosen layer: test AUROC of the probe score minus its least-squares
  slope in word count (fit on train; `adjusted_*` with the within-class slope, `residual_*` with
  the pooled slope, a conservative bound), and on test empathy pairs the share where the empathic text
  outscores its partner, overall and where it is not the longer of the two;
- the task probe (mean difference of task-completed vs task-abandoned texts, which the 2x2 design
  matches on empathy), its cosine with the empathy direction per layer against the 95% quantile of
  |cos| between random directions, and each probe's AUROC on the other's labels;
- transfer: an orthogonal Procrustes map fitted on train activations carries the chosen-layer
  direction from every model with a cache (and from the chosen layer to every layer of this model)
  into this model's space, scored on its test split;
- PCA and t-SNE coordinates of the chosen layer's activations (figures under outputs/figures/).
The v0 profile swaps in v0's random pair split, test-set layer choice and test-median threshold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from analyses.harness import PhaseRun, final
from analyses.probes.confounds import features, fit_scores, pair_wins, residualize
from analyses.probes.transfer import map_direction, procrustes
from core import paths
from core.activations import key_fields
from core.cache import ActivationCache
from core.config import ProbesConfig
from core.context import RunContext
from core.data import Dataset
from core.data.lexicon import Lexicon
from core.data.splits import assign_splits
from core.data.textchecks import word_count
from core.figures import plot_auroc_by_layer, plot_embedding
from core.stats.estimates import auroc, bootstrap_auroc
from core.stats.nulls import random_cosine_quantile
from core.stats.probes import Probe, fit_probe

SPLITS = ("train", "validation", "test")


def _mask(splits: list[str], name: str) -> np.ndarray:
    return np.array([s == name for s in splits])


def _accuracy(probe: Probe, scores: np.ndarray, labels: np.ndarray, rule: str) -> float:
    threshold = float(np.median(scores)) if rule == "test_median" else probe.threshold
    return float(((scores >= threshold) == labels).mean())


def layer_rows(cfg: ProbesConfig, acts: np.ndarray, y: np.ndarray, splits: list[str], layer: int,
               seed: int) -> tuple[list[dict], dict[str, Probe]]:
    """Fit each method at one layer on train; AUROC with CI and accuracy on every split."""
    rows: list[dict] = []
    probes: dict[str, Probe] = {}
    train = _mask(splits, "train")
    for method in cfg.methods:
        probe = probes[method] = fit_probe(method, acts[layer][train], y[train], cfg.logistic_c, seed)
        for split in SPLITS:
            m = _mask(splits, split)
            if not m.any():
                continue
            s = probe.score(acts[layer][m])
            lo, hi = bootstrap_auroc(s, y[m], cfg.n_bootstrap, seed + layer)
            rule = cfg.threshold if split == "test" else "train_midpoint"
            rows.append({"layer": layer, "depth_frac": round((layer + 1) / acts.shape[0], 4), "method": method,
                         "split": split, "auroc": auroc(s, y[m]), "ci_low": lo, "ci_high": hi,
                         "accuracy": _accuracy(probe, s, y[m], rule), "n_pos": int(y[m].sum()),
                         "n_neg": int((~y[m]).sum())})
    return rows, probes


def select_layers(table: pd.DataFrame, on: str = "validation") -> pd.DataFrame:
    """Per method, the layer with the best AUROC on `on` (validation in v1), and its test numbers."""
    pick = table[table.split == on]
    best = pick.loc[pick.groupby("method").auroc.idxmax(), ["method", "layer", "auroc"]]
    best = best.rename(columns={"auroc": "select_auroc"}).assign(selected_on=on)
    test = table[table.split == "test"][["method", "layer", "depth_frac", "auroc", "ci_low", "ci_high", "accuracy"]]
    out = best.merge(test, on=["method", "layer"]).rename(columns={"auroc": "test_auroc"})
    return out.reset_index(drop=True)


def lofo(cfg: ProbesConfig, acts: np.ndarray, y: np.ndarray, families: np.ndarray, selected: pd.DataFrame,
         seed: int) -> pd.DataFrame:
    """Leave-one-family-out AUROC at each method's chosen layer."""
    rows = []
    for method, layer in zip(selected.method, selected.layer, strict=True):
        for fam in sorted(set(families)):
            held = families == fam
            probe = fit_probe(method, acts[layer][~held], y[~held], cfg.logistic_c, seed)
            rows.append({"method": method, "layer": int(layer), "family": fam,
                         "auroc": auroc(probe.score(acts[layer][held]), y[held]), "n": int(held.sum())})
    return pd.DataFrame(rows)


def confounds(cfg: ProbesConfig, texts: list, y: np.ndarray, splits: list[str], lexicon: Lexicon,
              seed: int) -> pd.DataFrame:
    """One-feature baselines on the probe's splits."""
    rows = []
    train = _mask(splits, "train")
    for name, feature in features(lexicon).items():
        values = np.array([feature(t.text) for t in texts])
        for split in ("validation", "test"):
            m = _mask(splits, split)
            if not m.any():
                continue
            s = fit_scores(values[train], y[train], values[m])
            lo, hi = bootstrap_auroc(s, y[m], cfg.n_bootstrap, seed)
            rows.append({"baseline": name, "split": split, "auroc": auroc(s, y[m]), "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def length_control(cfg: ProbesConfig, acts: np.ndarray, ds: Dataset, y: np.ndarray, splits: list[str],
                   selected: pd.DataFrame, fitted: dict[tuple[int, str], Probe], seed: int) -> pd.DataFrame:
    """Is the chosen-layer probe (already fitted, keyed by layer and method) more than a length
    detector? (see the methods note)"""
    train, test = _mask(splits, "train"), _mask(splits, "test")
    length = np.array([word_count(t.text) for t in ds.texts], dtype=np.float64)
    row_of = {t.text_id: i for i, t in enumerate(ds.texts)}
    pairs = np.array([(row_of[p.positive.text_id], row_of[p.negative.text_id]) for p in ds.pairs
                      if p.kind.startswith("empathy")], dtype=int).reshape(-1, 2)
    pos, neg = pairs[test[pairs[:, 0]] & test[pairs[:, 1]]].T
    rows = []
    for method, layer in zip(selected.method, selected.layer, strict=True):
        score = fitted[(int(layer), method)].score(acts[layer])
        resid = residualize(score[train], length[train], score, length)[test]
        adjusted = residualize(score[train], length[train], score, length, y[train])[test]
        lo, hi = bootstrap_auroc(resid, y[test], cfg.n_bootstrap, seed)
        adj_lo, adj_hi = bootstrap_auroc(adjusted, y[test], cfg.n_bootstrap, seed)
        wins, n = pair_wins(score[pos], score[neg], np.ones(len(pos), dtype=bool))
        wins_short, n_short = pair_wins(score[pos], score[neg], length[pos] <= length[neg])
        rows.append({"method": method, "layer": int(layer), "test_auroc": auroc(score[test], y[test]),
                     "adjusted_auroc": auroc(adjusted, y[test]), "adjusted_ci_low": adj_lo,
                     "adjusted_ci_high": adj_hi, "residual_auroc": auroc(resid, y[test]), "residual_ci_low": lo,
                     "residual_ci_high": hi,
                     "length_score_corr": float(np.corrcoef(score[test], length[test])[0, 1]),
                     "pair_wins": wins, "n_pairs": n, "pair_wins_empathic_not_longer": wins_short,
                     "n_pairs_empathic_not_longer": n_short})
    return pd.DataFrame(rows)


def task_cosine(acts: np.ndarray, texts: list, y: np.ndarray, splits: list[str], layers: list[int]) -> pd.DataFrame:
    """Empathy vs task direction per layer (mean differences on train), with cross-label AUROCs on test."""
    has_task = np.array([t.task in ("completed", "abandoned") for t in texts])
    task_y = np.array([t.task == "completed" for t in texts])
    train, test = _mask(splits, "train"), _mask(splits, "test")
    tt, te = train & has_task, test & has_task
    q95 = random_cosine_quantile(acts.shape[2])
    rows = []
    for layer in layers:
        emp = fit_probe("mean_diff", acts[layer][train], y[train])
        task = fit_probe("mean_diff", acts[layer][tt], task_y[tt])
        rows.append({"layer": layer, "cosine": float(emp.direction @ task.direction), "random_cosine_q95": q95,
                     "auroc_empathy_on_task": auroc(emp.score(acts[layer][te]), task_y[te]),
                     "auroc_task_on_empathy": auroc(task.score(acts[layer][test]), y[test]),
                     "auroc_task_on_task": auroc(task.score(acts[layer][te]), task_y[te])})
    return pd.DataFrame(rows)


def _transfer_row(src: np.ndarray, tgt: np.ndarray, y: np.ndarray, splits: list[str]) -> dict[str, float]:
    train, test = _mask(splits, "train"), _mask(splits, "test")
    w = procrustes(src[train], tgt[train])
    source_dir = fit_probe("mean_diff", src[train], y[train]).direction.astype(np.float64)
    target_dir = fit_probe("mean_diff", tgt[train], y[train]).direction.astype(np.float64)
    mapped = map_direction(w, source_dir)
    rho = spearmanr(src[test] @ source_dir, tgt[test] @ target_dir).statistic
    return {"score_spearman": float(rho), "transfer_auroc": auroc(tgt[test] @ mapped, y[test]),
            "mapped_cosine_to_target_probe": float(mapped @ target_dir)}


def transfer(ctx: RunContext, acts: np.ndarray, y: np.ndarray, splits: list[str], layer: int) -> pd.DataFrame:
    """Other models' chosen-layer directions mapped into this model; and this model's layer -> layer."""
    rows = [{"source_model": ctx.alias, "target_model": ctx.alias, "source_layer": layer, "target_layer": t,
             **_transfer_row(acts[layer], acts[t], y, splits)} for t in range(acts.shape[0])]
    ids = [t.text_id for t in ctx.dataset.texts]
    for other in ctx.params.run_models:
        if other == ctx.alias:
            continue
        cache = ActivationCache.at(paths.activations_dir(other), key_fields(ctx.params, other, ctx.dataset))
        if not cache.complete:
            continue
        src = cache.load(ids)
        src_layer = round((layer + 1) / acts.shape[0] * src.shape[0]) - 1  # same relative depth
        rows.append({"source_model": other, "target_model": ctx.alias, "source_layer": src_layer,
                     "target_layer": layer, **_transfer_row(src[src_layer], acts[layer], y, splits)})
    return pd.DataFrame(rows)


def run(cfg: ProbesConfig, ctx: RunContext) -> PhaseRun:
    """Fit and score probes for every layer from the activation cache (no model is loaded)."""
    ds = ctx.dataset
    acts = ctx.activations([t.text_id for t in ds.texts])
    y = np.array([t.empathic for t in ds.texts])
    splits = assign_splits(ds.texts, cfg.split)
    layers = list(range(acts.shape[0])) if cfg.layers == "all" else list(cfg.layers)
    rows, directions, fitted = [], [], {}
    for layer in layers:
        layer_table, probes = layer_rows(cfg, acts, y, splits, layer, ctx.seed)
        rows += layer_table
        fitted.update({(layer, m): p for m, p in probes.items()})
        directions += [{"layer": layer, "method": m, "threshold": p.threshold, "direction": p.direction.tolist()}
                       for m, p in probes.items()]
    table = pd.DataFrame(rows)
    selected = select_layers(table, cfg.select_on)
    chosen = int(selected.set_index("method").layer.get("mean_diff", selected.layer.iloc[0]))
    families = np.array([t.family for t in ds.texts])
    embedding = plot_embedding(ctx, acts[chosen], y, families, chosen, cfg.tsne_perplexity)
    plot_auroc_by_layer(ctx, table)
    lexicon = Lexicon.load(ctx.params.data.lexicon)
    yield final({"probes_auroc": table, "probes_selected": selected, "probes_directions": pd.DataFrame(directions),
                 "probes_lofo": lofo(cfg, acts, y, families, selected, ctx.seed),
                 "probes_confounds": confounds(cfg, ds.texts, y, splits, lexicon, ctx.seed),
                 "probes_length_control": length_control(cfg, acts, ds, y, splits, selected, fitted, ctx.seed),
                 "probes_task_cosine": task_cosine(acts, ds.texts, y, splits, layers),
                 "probes_transfer": transfer(ctx, acts, y, splits, chosen), "probes_embedding": embedding})
