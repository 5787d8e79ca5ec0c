"""ablation — does the probe still separate the classes once the empathy words are gone?

Method. Every text of the evaluated splits (default: the held-out test families, which the probes
never saw), empathic and non-empathic alike, has its lexicon words (data/lexicon.json, whole words,
case-insensitive) removed or replaced in ONE regex pass, replacements drawn from a fixed list that
holds no lexicon word (checked); no replacement is ever rewritten again (v0 chained them). The
matched control applies the same edit to the same number of randomly chosen non-lexicon words of the
same text (seeded per text). Edited texts are re-extracted with extract's machinery into activation
caches keyed additionally by the variant and the ablation settings (a rerun computes nothing); a
text the edit leaves unchanged keeps its original activations. The probes already fit on the train
families (probes_directions) score original and edited texts; AUROC with stratified bootstrap 95%
CIs per layer and method, also on the lexically crossed subset (pairs whose empathic text has no
lexicon word while the other has one or more). The verdict compares, at the validation-chosen layer,
the AUROC after lexicon removal with the random-removal control (paired bootstrap of the difference).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pandas as pd

from analyses.ablation.edits import Ablated, ablate_lexicon, ablate_random, check_replacements, crossed
from analyses.causal.common import probes_folder
from analyses.harness import PhaseRun, final
from core import paths
from core.activations import extract_into, key_fields
from core.cache import ActivationCache
from core.config import AblationConfig
from core.context import RunContext
from core.data import Dataset, Text
from core.data.lexicon import Lexicon
from core.stats.directions import load_directions, resolve_layers, selected_layer
from core.stats.estimates import auroc, auroc_rows, bootstrap_auroc, stratified_resamples

VARIANTS = ("lexicon_removed", "random_removed")


def edit_texts(texts: list[Text], lexicon: Lexicon, cfg: AblationConfig, seed: int) -> dict[str, dict[str, Ablated]]:
    """variant -> text_id -> edited text and its number of edits (random: matched to the lexicon count)."""
    words = check_replacements(lexicon)
    lex = {t.text_id: ablate_lexicon(t.text, t.text_id, lexicon, cfg.mode, seed, words) for t in texts}
    left = [tid for tid, a in lex.items() if lexicon.count(a.text)]
    if left:
        raise RuntimeError(f"lexicon words survived ablation in {left[:3]}")  # cannot happen: one pass
    rnd = {t.text_id: ablate_random(t.text, t.text_id, lexicon, lex[t.text_id].n_replaced, cfg.mode, seed, words)
           for t in texts}
    return {"lexicon_removed": lex, "random_removed": rnd}


def _variant_cache(ctx: RunContext, variant: str, cfg: AblationConfig, lexicon: Lexicon) -> ActivationCache:
    words = hashlib.sha256(" ".join(check_replacements(lexicon)).encode()).hexdigest()[:12]
    lex = hashlib.sha256(" ".join(sorted(lexicon.words)).encode()).hexdigest()[:12]
    fields = {**key_fields(ctx.params, ctx.alias, ctx.dataset), "variant": variant, "mode": cfg.mode,
              "seed": ctx.seed, "replacements": words, "lexicon": lex}
    return ActivationCache.open(paths.variant_activations_dir("ablation", ctx.alias), fields)


def variant_acts(ctx: RunContext, texts: list[Text], edits: dict[str, Ablated], original: np.ndarray,
                 cache: ActivationCache) -> np.ndarray:
    """Activations of the edited texts: re-extracted where the edit changed the text, else the originals."""
    changed = [replace(t, text=edits[t.text_id].text) for t in texts if edits[t.text_id].text != t.text]
    if {t.text_id for t in changed} - cache.done_ids():  # a rerun loads no model and computes nothing
        extract_into(cache, ctx.model, changed, ctx.params.extract)
    acts = original.copy()
    if changed:
        where = {t.text_id: i for i, t in enumerate(texts)}
        acts[:, [where[t.text_id] for t in changed]] = cache.load([t.text_id for t in changed])
    return acts


def crossed_mask(ds: Dataset, texts: list[Text], lexicon: Lexicon) -> np.ndarray:
    """Texts belonging to a lexically crossed empathy pair of the evaluated splits."""
    ids = {t.text_id for t in texts}
    keep: set[str] = set()
    for pair in ds.pairs:
        if pair.kind.startswith("empathy") and {pair.positive.text_id, pair.negative.text_id} <= ids \
                and crossed(pair.positive.text, pair.negative.text, lexicon):
            keep.update((pair.positive.text_id, pair.negative.text_id))
    return np.array([t.text_id in keep for t in texts])


def _auroc_rows(scores: dict[str, np.ndarray], labels: np.ndarray, subset: np.ndarray, layer: int, method: str,
                n_boot: int, seed: int) -> list[dict]:
    sets = {"original": (scores["original"], labels), "lexicon_removed": (scores["lexicon_removed"], labels),
            "random_removed": (scores["random_removed"], labels),
            "crossed_subset": (scores["original"][subset], labels[subset]),
            "crossed_subset_lexicon_removed": (scores["lexicon_removed"][subset], labels[subset])}
    rows = []
    for variant, (s, y) in sets.items():
        ok = 0 < y.sum() < y.size
        lo, hi = bootstrap_auroc(s, y, n_boot, seed + layer) if ok else (np.nan, np.nan)
        rows.append({"layer": layer, "method": method, "variant": variant, "auroc": auroc(s, y) if ok else np.nan,
                     "ci_low": lo, "ci_high": hi, "n_pos": int(y.sum()), "n_neg": int((~y).sum())})
    return rows


def paired_difference(a: np.ndarray, b: np.ndarray, labels: np.ndarray, n_boot: int, seed: int
                      ) -> tuple[float, float, float]:
    """AUROC(a) - AUROC(b) on the same texts, with a paired stratified bootstrap 95% CI."""
    idx = stratified_resamples(labels, n_boot, seed)
    y = labels[idx[0]]
    diffs = auroc_rows(a[idx], y) - auroc_rows(b[idx], y)
    lo, hi = np.quantile(diffs, [0.025, 0.975])
    return auroc(a, labels) - auroc(b, labels), float(lo), float(hi)


def run(cfg: AblationConfig, ctx: RunContext) -> PhaseRun:
    """Edit, re-extract and re-score; AUROC per layer, method and variant, the texts, and a verdict."""
    ds = ctx.dataset
    lexicon = Lexicon.load(ctx.params.data.lexicon)
    texts = [t for t in ds.texts if t.split in cfg.splits]
    original = ctx.activations([t.text_id for t in texts])
    edits = edit_texts(texts, lexicon, cfg, ctx.seed)
    acts = {"original": original, **{v: variant_acts(ctx, texts, edits[v], original,
                                                      _variant_cache(ctx, v, cfg, lexicon)) for v in VARIANTS}}
    labels, subset = np.array([t.empathic for t in texts]), crossed_mask(ds, texts, lexicon)
    layers = resolve_layers(cfg.layers, original.shape[0])
    rows, verdict = [], []
    for method in cfg.methods:
        dirs = load_directions(probes_folder(ctx), method)
        for layer in layers:
            scores = {v: a[layer] @ dirs[layer].astype(np.float64) for v, a in acts.items()}
            rows += _auroc_rows(scores, labels, subset, layer, method, cfg.n_bootstrap, ctx.seed)
        chosen = selected_layer(probes_folder(ctx), method)
        if chosen is not None and chosen in layers:
            s = {v: a[chosen] @ dirs[chosen].astype(np.float64) for v, a in acts.items()}
            verdict.append((method, chosen, paired_difference(s["lexicon_removed"], s["random_removed"], labels,
                                                              cfg.n_bootstrap, ctx.seed)))
    table, edited = pd.DataFrame(rows), texts_table(texts, edits, lexicon)
    lex = edited[edited.variant == "lexicon_removed"]
    answer = ablation_verdict(table, verdict, int(subset.sum()))
    answer["evidence"] = f"{int(lex.n_replaced.sum())} lexicon words edited in {int((lex.n_replaced > 0).sum())} of " \
        f"{len(lex)} texts ({cfg.mode}); " + answer["evidence"]
    yield final({"ablation_auroc": table, "ablation_texts": edited, "ablation_verdicts": pd.DataFrame([answer])})


def texts_table(texts: list[Text], edits: dict[str, dict[str, Ablated]], lexicon: Lexicon) -> pd.DataFrame:
    """The edited texts with their per-text number of edits."""
    return pd.DataFrame([{"text_id": t.text_id, "instance_id": t.instance_id, "split": t.split,
                          "empathic": t.empathic, "variant": v, "n_lexicon_words": lexicon.count(t.text),
                          "n_replaced": edits[v][t.text_id].n_replaced, "text": edits[v][t.text_id].text}
                         for v in VARIANTS for t in texts])


def ablation_verdict(table: pd.DataFrame, paired: list[tuple], n_crossed: int) -> dict[str, str]:
    """Does AUROC survive lexicon removal beyond what removing as many random words costs?"""
    parts, worse = [], []
    for method, layer, (diff, lo, hi) in paired:
        at = table[(table.method == method) & (table.layer == layer)].set_index("variant")
        parts.append(f"{method} L{layer}: original {at.auroc['original']:.3f}, lexicon removed "
                     f"{at.auroc['lexicon_removed']:.3f} [{at.ci_low['lexicon_removed']:.3f}, "
                     f"{at.ci_high['lexicon_removed']:.3f}], random removed {at.auroc['random_removed']:.3f}; "
                     f"lexicon - random {diff:+.3f} [{lo:+.3f}, {hi:+.3f}]; crossed subset "
                     f"{at.auroc['crossed_subset']:.3f} ({n_crossed} texts)")
        worse.append(hi < 0)
    if not paired:
        answer = "undetermined: no chosen probe layer among the evaluated layers"
    elif any(worse):
        answer = "no: lexicon removal lowers AUROC more than the random-word control for " + \
            ", ".join(m for (m, _, _), w in zip(paired, worse, strict=True) if w)
    else:
        answer = "yes: AUROC after lexicon removal is not significantly below the random-word control"
    return {"question": "Does AUROC survive lexicon removal beyond the random-removal control?",
            "answer": answer, "evidence": "; ".join(parts)}
