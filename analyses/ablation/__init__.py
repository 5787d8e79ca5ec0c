"""ablation — does the probe still separate the classes once the empathy words are gone?

Method. Every text of the evaluated splits (default: the held-out test families, which the probes
never saw), empathic and non-empathic alike, has its lexicon words (data/lexicon.json, whole words,
case-insensitive) replaced (mode `replace`: variant `lexicon_replaced`) or deleted (mode `remove`:
`lexicon_removed`) in ONE regex pass, replacements drawn from a fixed list that holds no lexicon word
(checked); no replacement is ever rewritten again (v0 chained them). The matched control
(`matched_replaced` / `matched_removed`) applies the same edit, in the same text, to one non-lexicon
word per lexicon hit, matched on part of speech (a documented suffix/closed-class HEURISTIC, no
tagger) and on corpus-frequency band (counts over the dataset's own texts), seeded per text
(analyses/ablation/matching.py); ablation_texts says how many control words matched each. Edited
texts are re-extracted with extract's machinery into activation caches keyed additionally by the
variant and the ablation settings (a rerun computes nothing); a text the edit leaves unchanged keeps
its original activations. The probes already fit on the train families (probes_directions) score
original and edited texts; AUROC per layer and method with instance-clustered bootstrap 95% CIs (all
texts of an instance resampled together), also on the lexically crossed subset (pairs whose empathic
text has no lexicon word while the other has one or more).
Survival (ablation_paired, per layer and method): the extra drop = (AUROC_original - AUROC_lexicon) -
(AUROC_original - AUROC_control) = AUROC_control - AUROC_lexicon, with a paired instance-clustered
bootstrap 95% CI (both variants scored on the same resamples). "yes" (survives) only when the CI's
upper end is at most `margin`: the lexicon edit costs no more than the control beyond the margin;
"no" when its lower end exceeds the margin; otherwise "undetermined". A non-significant difference is
never read as survival. The verdict applies this at the validation-chosen layer of each method.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analyses.ablation.edits import Ablated, ablate_lexicon, ablate_matched, check_replacements, crossed
from analyses.ablation.matching import FUNCTION_WORDS, SUFFIXES, FrequencyBands
from analyses.causal.common import probes_folder
from analyses.harness import PhaseRun, final
from core import paths
from core.activations import extract_into, key_fields
from core.cache import ActivationCache
from core.config import AblationConfig, Params
from core.context import RunContext
from core.data import Dataset, Text
from core.data.lexicon import Lexicon
from core.data.splits import SplitNeed
from core.stats.directions import load_directions, resolve_layers, selected_layer
from core.stats.estimates import auroc, cluster_bootstrap_auroc, paired_cluster_bootstrap_auroc_diff

PAST = {"replace": "replaced", "remove": "removed"}


def variants(mode: str) -> tuple[str, str]:
    """The lexicon edit's and the matched control's variant names, after what the mode does."""
    return f"lexicon_{PAST[mode]}", f"matched_{PAST[mode]}"


def edit_texts(texts: list[Text], lexicon: Lexicon, cfg: AblationConfig, seed: int, bands: FrequencyBands
               ) -> dict[str, dict[str, Ablated]]:
    """variant -> text_id -> edited text and its edits (control: one matched word per lexicon hit)."""
    words = check_replacements(lexicon)
    lex = {t.text_id: ablate_lexicon(t.text, t.text_id, lexicon, cfg.mode, seed, words) for t in texts}
    left = [tid for tid, a in lex.items() if lexicon.count(a.text)]
    if left:
        raise RuntimeError(f"lexicon words survived ablation in {left[:3]}")  # cannot happen: one pass
    ctrl = {t.text_id: ablate_matched(t.text, t.text_id, lexicon, bands, cfg.mode, seed, words) for t in texts}
    lexicon_name, control_name = variants(cfg.mode)
    return {lexicon_name: lex, control_name: ctrl}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _variant_cache(ctx: RunContext, variant: str, cfg: AblationConfig, lexicon: Lexicon) -> ActivationCache:
    fields = {**key_fields(ctx.params, ctx.alias, ctx.dataset), "variant": variant, "mode": cfg.mode,
              "seed": ctx.seed, "replacements": _digest(" ".join(check_replacements(lexicon))),
              "lexicon": _digest(" ".join(sorted(lexicon.words)))}
    if variant.startswith("matched_"):  # the control's words depend on the matching rules
        fields["matching"] = _digest(f"{sorted(FUNCTION_WORDS)}{SUFFIXES}{cfg.frequency_band_log2}")
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


@dataclass(frozen=True)
class Scored:
    """One layer's probe scores per variant, with the texts' labels, instances and crossed-subset mask."""

    scores: dict[str, np.ndarray]
    labels: np.ndarray
    clusters: np.ndarray
    subset: np.ndarray


def auroc_rows(scored: Scored, mode: str, layer: int, method: str, n_boot: int, seed: int) -> list[dict]:
    """ablation_auroc rows: AUROC per variant (and on the crossed subset) with instance-clustered CIs."""
    s, y, cl, sub = scored.scores, scored.labels, scored.clusters, scored.subset
    lexicon_name, _ = variants(mode)
    sets = {**{v: (x, y, cl) for v, x in s.items()},
            "crossed_subset": (s["original"][sub], y[sub], cl[sub]),
            f"crossed_subset_{lexicon_name}": (s[lexicon_name][sub], y[sub], cl[sub])}
    rows = []
    for variant, (x, yy, cc) in sets.items():
        ok = 0 < yy.sum() < yy.size
        lo, hi = cluster_bootstrap_auroc(x, yy, cc, n_boot, seed + layer) if ok else (np.nan, np.nan)
        rows.append({"layer": layer, "method": method, "variant": variant, "auroc": auroc(x, yy) if ok else np.nan,
                     "ci_low": lo, "ci_high": hi, "n_pos": int(yy.sum()), "n_neg": int((~yy).sum())})
    return rows


def survives(ci_low: float, ci_high: float, margin: float) -> str:
    """yes: the extra drop's CI lies below the margin; no: above it; else (or NaN) undetermined."""
    if ci_high <= margin:
        return "yes"
    return "no" if ci_low > margin else "undetermined"


def paired_row(scored: Scored, mode: str, layer: int, method: str, margin: float, n_boot: int, seed: int) -> dict:
    """ablation_paired row: each edit's AUROC drop and the extra drop of the lexicon edit over the control,
    AUROC(control) - AUROC(lexicon), with its paired instance-clustered bootstrap 95% CI."""
    lexicon_name, control_name = variants(mode)
    s, y = scored.scores, scored.labels
    extra, lo, hi = paired_cluster_bootstrap_auroc_diff(s[control_name], s[lexicon_name], y, scored.clusters,
                                                        n_boot, seed + layer)
    original = auroc(s["original"], y)
    return {"layer": layer, "method": method, "auroc_original": original,
            "drop_lexicon": original - auroc(s[lexicon_name], y), "drop_control": original - auroc(s[control_name], y),
            "extra_drop": extra, "extra_ci_low": lo, "extra_ci_high": hi, "margin": margin,
            "survives": survives(lo, hi, margin)}


def splits_needed(params: Params) -> SplitNeed:
    """The edited texts are those of `ablation.splits` (families), scored by AUROC: both classes needed."""
    return SplitNeed("families", (tuple(params.ablation.splits),), "texts of both classes to edit and score")


def run(cfg: AblationConfig, ctx: RunContext) -> PhaseRun:
    """Edit, re-extract and re-score; AUROC per layer, method and variant, the paired extra drop, the texts,
    and a verdict at each method's validation-chosen layer."""
    ds = ctx.dataset
    lexicon = Lexicon.load(ctx.params.data.lexicon)
    texts = [t for t in ds.texts if t.split in cfg.splits]
    original = ctx.activations([t.text_id for t in texts])
    edits = edit_texts(texts, lexicon, cfg, ctx.seed, FrequencyBands.of((t.text for t in ds.texts),
                                                                         cfg.frequency_band_log2))
    acts = {"original": original, **{v: variant_acts(ctx, texts, e, original, _variant_cache(ctx, v, cfg, lexicon))
                                     for v, e in edits.items()}}
    labels = np.array([t.empathic for t in texts])
    clusters, subset = np.array([t.instance_id for t in texts]), crossed_mask(ds, texts, lexicon)
    rows, paired = [], []
    for method in cfg.methods:
        dirs = load_directions(probes_folder(ctx), method)
        chosen = selected_layer(probes_folder(ctx), method)
        for layer in resolve_layers(cfg.layers, original.shape[0]):
            scored = Scored({v: a[layer] @ dirs[layer].astype(np.float64) for v, a in acts.items()}, labels,
                            clusters, subset)
            rows += auroc_rows(scored, cfg.mode, layer, method, cfg.n_bootstrap, ctx.seed)
            paired.append({**paired_row(scored, cfg.mode, layer, method, cfg.margin, cfg.n_bootstrap, ctx.seed),
                           "chosen": layer == chosen})
    table, pairs, edited = pd.DataFrame(rows), pd.DataFrame(paired), texts_table(texts, edits, lexicon)
    answer = ablation_verdict(table, pairs, cfg, int(subset.sum()))
    answer["evidence"] = edits_text(edited, cfg.mode) + answer["evidence"]
    yield final({"ablation_auroc": table, "ablation_paired": pairs, "ablation_texts": edited,
                 "ablation_verdicts": pd.DataFrame([answer])})


def texts_table(texts: list[Text], edits: dict[str, dict[str, Ablated]], lexicon: Lexicon) -> pd.DataFrame:
    """The edited texts with their per-text number of edits (and, for the control, of matched words)."""
    def num(x: int | None) -> float:
        return np.nan if x is None else float(x)

    return pd.DataFrame([{"text_id": t.text_id, "instance_id": t.instance_id, "split": t.split,
                          "empathic": t.empathic, "variant": v, "n_lexicon_words": lexicon.count(t.text),
                          "n_replaced": e[t.text_id].n_replaced, "n_pos_matched": num(e[t.text_id].n_pos_matched),
                          "n_band_matched": num(e[t.text_id].n_band_matched), "text": e[t.text_id].text}
                         for v, e in edits.items() for t in texts])


def edits_text(edited: pd.DataFrame, mode: str) -> str:
    """How many words each edit touched, and how well the control matched them."""
    lexicon_name, control_name = variants(mode)
    lex, ctrl = edited[edited.variant == lexicon_name], edited[edited.variant == control_name]
    n = max(int(ctrl.n_replaced.sum()), 1)
    return f"{int(lex.n_replaced.sum())} lexicon words {PAST[mode]} in {int((lex.n_replaced > 0).sum())} of " \
        f"{len(lex)} texts; control: {int(ctrl.n_replaced.sum())} words, {ctrl.n_pos_matched.sum() / n:.0%} " \
        f"matching their lexicon word's part-of-speech class (heuristic), {ctrl.n_band_matched.sum() / n:.0%} " \
        "its frequency band; "


def ablation_verdict(table: pd.DataFrame, paired: pd.DataFrame, cfg: AblationConfig, n_crossed: int
                     ) -> dict[str, str]:
    """Does AUROC survive the lexicon edit beyond the matched control, at each method's chosen layer?"""
    lexicon_name, control_name = variants(cfg.mode)
    chosen = paired[paired.chosen] if len(paired) else pd.DataFrame(columns=["method", "survives"])
    parts = []
    for r in chosen.itertuples():
        at = table[(table.method == r.method) & (table.layer == r.layer)].set_index("variant")
        parts.append(f"{r.method} L{r.layer}: original {r.auroc_original:.3f}, {lexicon_name} "
                     f"{at.auroc[lexicon_name]:.3f} [{at.ci_low[lexicon_name]:.3f}, {at.ci_high[lexicon_name]:.3f}], "
                     f"{control_name} {at.auroc[control_name]:.3f}; extra drop (lexicon - control) {r.extra_drop:+.3f} "
                     f"[{r.extra_ci_low:+.3f}, {r.extra_ci_high:+.3f}] -> {r.survives}; crossed subset "
                     f"{at.auroc['crossed_subset']:.3f} ({n_crossed} texts)")
    calls = dict(zip(chosen.method, chosen.survives, strict=True))
    edit = f"{lexicon_name.replace('_', ' ')}"
    if not calls:
        answer = "undetermined: no chosen probe layer among the evaluated layers"
    elif all(c == "yes" for c in calls.values()):
        answer = f"yes: with the {edit}, AUROC drops no more than under the matched control plus {cfg.margin} " \
            "(95% CI of the extra drop below the margin)"
    elif any(c == "no" for c in calls.values()):
        answer = f"no: the {edit} lowers AUROC more than the matched control, beyond {cfg.margin}, for " + \
            ", ".join(m for m, c in calls.items() if c == "no")
    else:
        answer = f"undetermined: the 95% CI of the extra drop reaches past the margin {cfg.margin} for " + \
            ", ".join(m for m, c in calls.items() if c != "yes")
    return {"question": "Does AUROC survive lexicon ablation beyond a matched (part of speech, frequency) control?",
            "answer": answer, "evidence": "; ".join(parts)}
