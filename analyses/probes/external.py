"""probes --eval FILE — the probes trained on our train families, scored on an external evaluation set.

Method. FILE is any dataset the loader reads (our JSON format, or v0's JSONL pairs). Nothing is fit on
it: each method's direction is the one `probes` published (fit on the TRAIN families of our dataset,
at the layer chosen on validation; probes_selected and probes_directions), and the score of a text is
its pooled activation at that layer projected on that direction. FILE's texts are extracted with the
same model, pooling and template as ours, into a cache of their own (outputs/activations_probes/, keyed
by FILE's hash, so a rerun extracts nothing). AUROC (empathic vs not) is reported over all of FILE, per
`source_model` (the text's generator; v0's field) and per scenario family, each with an
instance-clustered bootstrap 95% CI (a v0 pair is its own instance), and the accuracy at the probe's
train threshold. A group holding one class only has no AUROC and is left out. Table: probes_external.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from analyses.harness import PhaseRun, final
from core import paths
from core.activations import extract_into, key_fields
from core.cache import ActivationCache
from core.config import ProbesConfig
from core.context import RunContext
from core.data import Dataset, load_dataset
from core.errors import InputError
from core.stats.estimates import auroc, cluster_bootstrap_auroc
from core.store import read_table

GROUPS = ("all", "source_model", "scenario")


def external_activations(ctx: RunContext, ds: Dataset) -> np.ndarray:
    """[layers, texts, d] of FILE's texts, extracted once into outputs/activations_probes/<model>/."""
    base = paths.variant_activations_dir("probes", ctx.alias)
    cache = ActivationCache.open(base, key_fields(ctx.params, ctx.alias, ds))
    if not (cache.complete and cache.done_ids() >= {t.text_id for t in ds.texts}):
        model = ctx.model
        extract_into(cache, model, ds.texts, ctx.params.extract)
        cache.mark_complete({"n_texts": len(ds.texts), "n_layers": model.n_layers, "d_model": model.d_model,
                             "resolved_revision": model.revision})
    ctx.inputs.record("model_revision", str(cache.manifest()["resolved_revision"]))
    return cache.load([t.text_id for t in ds.texts])


def trained_probes(ctx: RunContext) -> pd.DataFrame:
    """Per method: the chosen layer, its unit direction and train threshold, as `probes` published them."""
    folder = ctx.phase_dir("probes")
    try:
        selected, directions = read_table(folder, "probes_selected"), read_table(folder, "probes_directions")
    except FileNotFoundError as exc:
        raise InputError(folder, "no trained probes: run `python -m analyses probes` (on our dataset) first") from exc
    return selected[["method", "layer"]].merge(directions[["method", "layer", "direction", "threshold"]],
                                               on=["method", "layer"])


def groups(ds: Dataset) -> Iterator[tuple[str, str, np.ndarray]]:
    """(group, value, mask): all of FILE, then each source model, then each scenario family."""
    n = len(ds.texts)
    yield "all", "all", np.ones(n, dtype=bool)
    for group, key in (("source_model", lambda t: t.source), ("scenario", lambda t: t.family)):
        values = np.array([key(t) for t in ds.texts])
        for value in sorted(set(values)):
            yield group, str(value), values == value


def score_rows(cfg: ProbesConfig, ds: Dataset, acts: np.ndarray, probes: pd.DataFrame, seed: int) -> list[dict]:
    """One row per probe x group with both classes: AUROC, clustered CI, accuracy at the train threshold."""
    y = np.array([t.empathic for t in ds.texts])
    clusters = np.array([t.instance_id for t in ds.texts])
    rows = []
    for p in probes.itertuples():
        score = acts[int(p.layer)] @ np.asarray(p.direction, dtype=np.float64)
        for group, value, m in groups(ds):
            if len(set(y[m])) < 2:
                continue
            lo, hi = cluster_bootstrap_auroc(score[m], y[m], clusters[m], cfg.n_bootstrap, seed)
            rows.append({"method": p.method, "layer": int(p.layer), "group": group, "value": value,
                         "auroc": auroc(score[m], y[m]), "ci_low": lo, "ci_high": hi,
                         "accuracy": float(((score[m] >= p.threshold) == y[m]).mean()),
                         "n_texts": int(m.sum()), "n_instances": len(set(clusters[m]))})
    return rows


def runner(path: Path) -> Callable[[ProbesConfig, RunContext], PhaseRun]:
    """The phase run that scores FILE (the harness's `run` override for `probes --eval FILE`)."""

    def run(cfg: ProbesConfig, ctx: RunContext) -> PhaseRun:
        ctx.dataset  # noqa: B018 - the training data's hash goes into the run's provenance
        ds = load_dataset(path, ctx.params.data.scenarios)
        table = pd.DataFrame(score_rows(cfg, ds, external_activations(ctx, ds), trained_probes(ctx), ctx.seed))
        if table.empty:
            raise InputError(path, "no group of this file holds both empathic and non-empathic texts")
        table.insert(0, "eval_file", str(path))
        table.insert(1, "eval_sha256", ds.sha256)
        yield final({"probes_external": table})

    return run
