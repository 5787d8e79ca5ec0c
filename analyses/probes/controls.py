"""Controls that take the surface signal away and ask what the probe has left.

- Residualised AUROC (`probes_residualised`, `probes_length_control`): the probe score minus b times
  a covariate, b the least-squares slope fit on TRAIN (confounds.residualize), within class
  (`within_*`: the covariate adjustment) or pooled (`pooled_*`: also removes the class signal the
  covariate shares, a conservative bound). Covariates: word count, and the best surface baseline's
  score with its TRAIN rows cross-fitted over folds of whole families (an in-sample bag-of-words
  train score is nearly the label, so its slope would be fit on the label).
- LEACE (`probes_erased`): the surface features (pronoun count, length, lexicon count; and with the
  cross-fitted bag-of-words score) are erased from each layer's activations, the eraser fit on
  TRAIN, and the probe refit on the erased TRAIN activations and scored on the erased test split.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyses.probes.confounds import pair_wins, residualize
from analyses.probes.frame import Frame
from core.config import ProbesConfig
from core.stats.erasure import erase_features
from core.stats.probes import fit_probe


def residualised_row(score: np.ndarray, covariate: np.ndarray, frame: Frame) -> dict[str, float]:
    """Test AUROC (clustered CI) of the raw score, and of the score with the covariate's train slope
    (within class, pooled) taken out; the test correlation of score and covariate."""
    train, test = frame.mask("train"), frame.mask("test")
    cov = np.asarray(covariate, dtype=np.float64)
    pooled = residualize(score[train], cov[train], score, cov)
    within = residualize(score[train], cov[train], score, cov, frame.y[train])
    return {**frame.ci(score, test, prefix="test_"), **frame.ci(within, test, prefix="within_"),
            **frame.ci(pooled, test, prefix="pooled_"),
            "score_covariate_corr": float(np.corrcoef(score[test], cov[test])[0, 1])}


def residualised(chosen: dict[str, tuple[int, np.ndarray]], covariates: dict[str, np.ndarray],
                 frame: Frame) -> pd.DataFrame:
    """`probes_residualised`: one row per method (at its chosen layer) x covariate."""
    return pd.DataFrame([{"method": method, "layer": layer, "covariate": name,
                          **residualised_row(score, cov, frame)}
                         for method, (layer, score) in chosen.items() for name, cov in covariates.items()])


def length_control(chosen: dict[str, tuple[int, np.ndarray]], length: np.ndarray, pairs: np.ndarray,
                   frame: Frame) -> pd.DataFrame:
    """`probes_length_control`: word count residualised out, and on test empathy pairs the share where the
    empathic text outscores its partner, overall and where it is not the longer one."""
    rename = {"within_": "adjusted_", "pooled_": "residual_"}
    rows = []
    for method, (layer, score) in chosen.items():
        base = residualised_row(score, length, frame)
        row = {next((k.replace(a, b) for a, b in rename.items() if k.startswith(a)), k): v for k, v in base.items()}
        row["length_score_corr"] = row.pop("score_covariate_corr")
        pos, neg = pairs.T
        wins, n = pair_wins(score[pos], score[neg], np.ones(len(pos), dtype=bool))
        short, n_short = pair_wins(score[pos], score[neg], length[pos] <= length[neg])
        rows.append({"method": method, "layer": layer, **row, "pair_wins": wins, "n_pairs": n,
                     "pair_wins_empathic_not_longer": short, "n_pairs_empathic_not_longer": n_short})
    return pd.DataFrame(rows)


def erased(cfg: ProbesConfig, acts: np.ndarray, layers: list[int], features: dict[str, np.ndarray],
           frame: Frame) -> pd.DataFrame:
    """`probes_erased`: per layer x erased feature set x method, the test AUROC (clustered CI) of the
    probe refit on LEACE-erased activations."""
    train, test = frame.mask("train"), frame.mask("test")
    rows = []
    for layer in layers:
        for name, z in features.items():
            x = erase_features(acts[layer].astype(np.float64), z, train)
            for method in cfg.methods:
                score = fit_probe(method, x[train], frame.y[train], cfg.logistic_c, frame.seed).score(x)
                rows.append({"layer": layer, "method": method, "erased": name, **frame.ci(score, test),
                             "n_features": int(z.shape[1])})
    return pd.DataFrame(rows)
