"""probes — is empathy linearly decodable on held-out families, and is it more than the words?

Method. For every decoder block L, two probes are fit on the pooled activations of the TRAIN
families: the mean-difference direction (unit norm) and an L2 logistic regression (standardised
features, mapped back to a unit direction). Scores are projections. AUROC (rank form) is reported on
every split with an instance-clustered bootstrap 95% CI (an instance's 2x2 texts are resampled
together; every AUROC of every probes table gets such a CI, frame.py); the layer is chosen per method
on VALIDATION AUROC only, and the test split reports the chosen layer. Also computed, on the same splits:
- the surface battery (`probes_surface`, margin.py/surface.py): bag-of-words (TF-IDF, without the
  lexicon, binary), MiniLM sentence embeddings, pronoun count, sentiment, length, lexicon count,
  format markers, and the logistic probe on the pooled token embeddings (HF hidden_states[0], cached
  by extract beside the layers), each fit on train and scored with the probes' CIs; per probe
  (`probes_selected`) the best baseline chosen on validation, its test AUROC, the probe's margin over
  it with a paired clustered CI (same instance resamples) and a verdict ('undetermined' when the CI
  holds zero), and the probe's accuracy on the test pairs that baseline ranks wrongly;
- controls that remove the surface signal (controls.py): the probe score with word count or the best
  baseline's cross-fitted score regressed out (slope fit on train, within class and pooled;
  `probes_residualised`, and `probes_length_control` with its matched-pair wins), and LEACE erasure of
  pronoun count, length and lexicon count (and the cross-fitted bag-of-words score) from every layer,
  probes refit on the erased train activations (`probes_erased`, figure erased_by_layer);
- leave-one-family-out AUROC at the chosen layer (train on 11 families, test on the 12th; the
  family-level view, no CI);
- the task probe (task.py): its cosine with the empathy direction per layer against the isotropic
  random band and a shuffled-label null (task labels shuffled within instances, same shuffles at every
  layer), and each probe's AUROC on the other's labels;
- transfer (transfer.py): an orthogonal Procrustes map fitted on train activations carries the
  chosen-layer direction from every model with a cache (and from the chosen layer to every layer of
  this model) into this model's space, scored on its test split;
- PCA and t-SNE coordinates of the chosen layer's activations (figures under outputs/figures/).
The v0 profile swaps in v0's random pair split, test-set layer choice and test-median threshold (and
the best baseline is then chosen on test too, like v0's layer).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyses.harness import PhaseRun, final
from analyses.probes.controls import erased, length_control, residualised
from analyses.probes.frame import Frame, empathy_pairs
from analyses.probes.margin import battery, best_crossfit, margin_table
from analyses.probes.task import task_cosine
from analyses.probes.transfer import transfer
from core.config import Params, ProbesConfig
from core.context import RunContext
from core.data.lexicon import Lexicon
from core.data.splits import SplitNeed, probe_split_need
from core.data.textchecks import word_count
from core.figures import plot_auroc_by_layer, plot_embedding, plot_erased_by_layer
from core.stats.estimates import auroc
from core.stats.probes import Probe, fit_probe
from core.stats.surface import best_baseline, crossfit_scores, erasure_features

SPLITS = ("train", "validation", "test")


def splits_needed(params: Params) -> SplitNeed:
    """Train fits the probes, `select_on` picks the layer, test scores it (each with both classes)."""
    return probe_split_need(params.probes.split, params.probes.select_on)


def _accuracy(probe: Probe, scores: np.ndarray, labels: np.ndarray, rule: str) -> float:
    threshold = float(np.median(scores)) if rule == "test_median" else probe.threshold
    return float(((scores >= threshold) == labels).mean())


def layer_rows(cfg: ProbesConfig, acts: np.ndarray, frame: Frame, layer: int) -> tuple[list[dict], dict[str, Probe]]:
    """Fit each method at one layer on train; AUROC with clustered CI and accuracy on every split."""
    rows: list[dict] = []
    probes: dict[str, Probe] = {}
    train, y = frame.mask("train"), frame.y
    for method in cfg.methods:
        probe = probes[method] = fit_probe(method, acts[layer][train], y[train], cfg.logistic_c, frame.seed)
        score = probe.score(acts[layer])
        for split in SPLITS:
            m = frame.mask(split)
            if not m.any():
                continue
            rule = cfg.threshold if split == "test" else "train_midpoint"
            rows.append({"layer": layer, "depth_frac": round((layer + 1) / acts.shape[0], 4), "method": method,
                         "split": split, **frame.ci(score, m), "accuracy": _accuracy(probe, score[m], y[m], rule),
                         "n_pos": int(y[m].sum()), "n_neg": int((~y[m]).sum()),
                         "n_instances": len(set(frame.instances[m]))})
    return rows, probes


def select_layers(table: pd.DataFrame, on: str = "validation") -> pd.DataFrame:
    """Per method, the layer with the best AUROC on `on` (validation in v1), and its test numbers."""
    pick = table[table.split == on]
    best = pick.loc[pick.groupby("method").auroc.idxmax(), ["method", "layer", "auroc"]]
    best = best.rename(columns={"auroc": "select_auroc"}).assign(selected_on=on)
    test = table[table.split == "test"][["method", "layer", "depth_frac", "auroc", "ci_low", "ci_high", "accuracy"]]
    out = best.merge(test, on=["method", "layer"]).rename(columns={"auroc": "test_auroc"})
    return out.reset_index(drop=True)


def lofo(cfg: ProbesConfig, acts: np.ndarray, frame: Frame, selected: pd.DataFrame) -> pd.DataFrame:
    """Leave-one-family-out AUROC at each method's chosen layer."""
    rows = []
    for method, layer in zip(selected.method, selected.layer, strict=True):
        for fam in sorted(set(frame.families)):
            held = frame.families == fam
            probe = fit_probe(method, acts[layer][~held], frame.y[~held], cfg.logistic_c, frame.seed)
            rows.append({"method": method, "layer": int(layer), "family": fam,
                         "auroc": auroc(probe.score(acts[layer][held]), frame.y[held]), "n": int(held.sum())})
    return pd.DataFrame(rows)


def fit_layers(cfg: ProbesConfig, acts: np.ndarray, frame: Frame, layers: list[int]
               ) -> tuple[pd.DataFrame, pd.DataFrame, dict[tuple[int, str], Probe]]:
    """`probes_auroc`, `probes_directions` and every fitted probe keyed by (layer, method)."""
    rows, directions, fitted = [], [], {}
    for layer in layers:
        layer_table, probes = layer_rows(cfg, acts, frame, layer)
        rows += layer_table
        fitted.update({(layer, m): p for m, p in probes.items()})
        directions += [{"layer": layer, "method": m, "threshold": p.threshold, "direction": p.direction.tolist()}
                       for m, p in probes.items()]
    return pd.DataFrame(rows), pd.DataFrame(directions), fitted


def surface_tables(cfg: ProbesConfig, ctx: RunContext, acts: np.ndarray, frame: Frame, layers: list[int],
                   chosen: dict[str, tuple[int, np.ndarray]]) -> dict[str, pd.DataFrame]:
    """The battery, the margins and the controls that remove the surface signal."""
    ds, lexicon = ctx.dataset, Lexicon.load(ctx.params.data.lexicon)
    texts, embeddings = [t.text for t in ds.texts], ctx.token_embeddings([t.text_id for t in ds.texts])
    scores, surface = battery(cfg, texts, frame, lexicon, embeddings)
    best = best_baseline(surface, cfg.select_on)
    best_cf = best_crossfit(cfg, best, texts, frame, lexicon, embeddings)
    bow = best_cf if best == "bow_tfidf" else crossfit_scores("bow_tfidf", texts, frame.y, frame.splits,
                                                               frame.families, lexicon, cfg.crossfit_folds)
    features = {"pronoun_length_lexicon": erasure_features(texts, lexicon),
                "pronoun_length_lexicon_bow": erasure_features(texts, lexicon, bow)}
    length = np.array([word_count(t) for t in texts], dtype=np.float64)
    pairs = empathy_pairs(ds, frame.mask("test"))
    return {"probes_surface": surface, "probes_margin": margin_table(chosen, scores[best], surface, frame, pairs),
            "probes_residualised": residualised(chosen, {"length": length, best: best_cf}, frame),
            "probes_length_control": length_control(chosen, length, pairs, frame),
            "probes_erased": erased(cfg, acts, layers, features, frame)}


def run(cfg: ProbesConfig, ctx: RunContext) -> PhaseRun:
    """Fit and score probes for every layer from the activation cache (no model is loaded)."""
    acts = ctx.activations([t.text_id for t in ctx.dataset.texts])
    frame = Frame.of(ctx.dataset, cfg.split, cfg.n_bootstrap, ctx.seed)
    layers = list(range(acts.shape[0])) if cfg.layers == "all" else list(cfg.layers)
    table, directions, fitted = fit_layers(cfg, acts, frame, layers)
    selected = select_layers(table, cfg.select_on)
    chosen = {m: (int(layer), fitted[(int(layer), m)].score(acts[layer]))
              for m, layer in zip(selected.method, selected.layer, strict=True)}
    tables = surface_tables(cfg, ctx, acts, frame, layers, chosen)
    selected = selected.merge(tables.pop("probes_margin"), on="method", how="left")
    plot_erased_by_layer(ctx, tables["probes_erased"], table, tables["probes_surface"])
    layer = int(selected.set_index("method").layer.get("mean_diff", selected.layer.iloc[0]))
    embedding = plot_embedding(ctx, acts[layer], frame.y, frame.families, layer, cfg.tsne_perplexity)
    plot_auroc_by_layer(ctx, table)
    yield final({"probes_auroc": table, "probes_selected": selected, "probes_directions": directions,
                 "probes_lofo": lofo(cfg, acts, frame, selected), **tables,
                 "probes_task_cosine": task_cosine(acts, ctx.dataset.texts, frame, layers, cfg.n_task_shuffles),
                 "probes_transfer": transfer(ctx, acts, frame, layer), "probes_embedding": embedding})
