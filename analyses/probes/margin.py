"""The surface battery as first-class rows (`probes_surface`) and each probe's margin over its best.

Every baseline of params' `surface_baselines` is fit on TRAIN and scored on every text (surface.py
for the text baselines). `token_embeddings` is the in-model lexical baseline: the logistic probe
(the stronger of the two readers, so a conservative bar for mean_diff too) fit on the pooled token
embeddings, HF hidden_states[0] pooled over the response tokens exactly as the layers are (extract's
own cache entry). The best baseline is chosen on the split that chooses the probe's layer
(validation; ties go to the battery's order), never on test.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from analyses.probes.frame import Frame
from core.config import ProbesConfig
from core.data.lexicon import Lexicon
from core.stats.estimates import cluster_weights, paired_cluster_bootstrap_auroc_diff
from core.stats.probes import fit_probe
from core.stats.surface import battery_table, best_baseline, crossfit, surface_scores

TOKEN_EMBEDDINGS = "token_embeddings"


def _embedding_scores(cfg: ProbesConfig, embeddings: np.ndarray, frame: Frame, splits: np.ndarray) -> np.ndarray:
    train = splits == "train"
    return fit_probe("logistic", embeddings[train], frame.y[train], cfg.logistic_c, frame.seed).score(embeddings)


def _scorer(cfg: ProbesConfig, name: str, texts: Sequence[str], frame: Frame, lexicon: Lexicon,
            embeddings: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """splits -> the baseline's scores of every text, fit on the rows `splits` marks train."""
    if name == TOKEN_EMBEDDINGS:
        return lambda splits: _embedding_scores(cfg, embeddings, frame, np.asarray(splits))
    return lambda splits: surface_scores(texts, frame.y, list(splits), lexicon, [name], cfg.logistic_c,
                                         frame.seed)[name]


def battery(cfg: ProbesConfig, texts: Sequence[str], frame: Frame, lexicon: Lexicon,
            embeddings: np.ndarray) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Every baseline's score of every text, and `probes_surface` (baseline x split, clustered CIs)."""
    scores: dict[str, np.ndarray] = {name: _scorer(cfg, name, texts, frame, lexicon, embeddings)(frame.splits)
              for name in cfg.surface_baselines}
    splits = [s for s in ("validation", "test") if frame.mask(s).any()]
    table = battery_table(scores, frame.y, frame.splits, frame.instances, frame.n_boot, frame.seed, splits)
    table["chosen"] = table.baseline == best_baseline(table, cfg.select_on)
    return scores, table


def best_crossfit(cfg: ProbesConfig, name: str, texts: Sequence[str], frame: Frame, lexicon: Lexicon,
                  embeddings: np.ndarray) -> np.ndarray:
    """The chosen baseline's scores with TRAIN rows cross-fitted over folds of whole families."""
    return crossfit(_scorer(cfg, name, texts, frame, lexicon, embeddings), frame.splits, frame.families,
                    cfg.crossfit_folds)


def verdict(lo: float, hi: float) -> str:
    """'probe' / 'baseline' when the margin's CI excludes zero on that side, else 'undetermined'."""
    return "probe" if lo > 0 else "baseline" if hi < 0 else "undetermined"


def margin_columns(probe: np.ndarray, baseline: np.ndarray, frame: Frame) -> dict[str, object]:
    """AUROC(probe) - AUROC(baseline) on test with the paired instance-clustered CI (same resamples)."""
    m = frame.mask("test")
    diff, lo, hi = paired_cluster_bootstrap_auroc_diff(probe[m], baseline[m], frame.y[m], frame.instances[m],
                                                       frame.n_boot, frame.seed)
    return {"margin": diff, "margin_ci_low": lo, "margin_ci_high": hi, "margin_excludes_zero": bool(lo > 0 or hi < 0),
            "margin_verdict": verdict(lo, hi)}


def hard_pairs(probe: np.ndarray, baseline: np.ndarray, pairs: np.ndarray, frame: Frame) -> dict[str, float]:
    """On the test empathy pairs the baseline ranks wrongly (empathic text not above its partner), the
    share the probe ranks rightly (ties half), with an instance-clustered 95% CI."""
    wrong = pairs[baseline[pairs[:, 0]] <= baseline[pairs[:, 1]]]
    out = {"n_pairs_baseline_wrong": len(wrong), "n_pairs": len(pairs), "probe_wins_baseline_wrong": np.nan,
           "probe_wins_ci_low": np.nan, "probe_wins_ci_high": np.nan}
    if len(wrong):
        d = probe[wrong[:, 0]] - probe[wrong[:, 1]]
        wins = (d > 0) + 0.5 * (d == 0)
        w = cluster_weights(frame.instances[wrong[:, 0]], frame.n_boot, frame.seed)
        with np.errstate(invalid="ignore"):
            boot = (w * wins).sum(1) / w.sum(1)
        lo, hi = np.nanquantile(boot, [0.025, 0.975])
        out |= {"probe_wins_baseline_wrong": float(wins.mean()), "probe_wins_ci_low": float(lo),
                "probe_wins_ci_high": float(hi)}
    return out


def margin_table(chosen: dict[str, tuple[int, np.ndarray]], baseline: np.ndarray, surface: pd.DataFrame,
                 frame: Frame, pairs: np.ndarray) -> pd.DataFrame:
    """The columns probes_selected gains, per probe method: the chosen best baseline, its test AUROC, the
    probe's margin over it and the probe's accuracy on the test pairs that baseline ranks wrongly."""
    name = str(surface.loc[surface.chosen, "baseline"].iloc[0])
    test = surface[(surface.baseline == name) & (surface.split == "test")].iloc[0]
    rows = [{"method": method, "best_baseline": name, "baseline_test_auroc": float(test.auroc),
             "baseline_ci_low": float(test.ci_low), "baseline_ci_high": float(test.ci_high),
             **margin_columns(score, baseline, frame), **hard_pairs(score, baseline, pairs, frame)}
            for method, (_, score) in chosen.items()]
    return pd.DataFrame(rows)
