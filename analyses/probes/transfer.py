"""Cross-model (or cross-layer) transfer of a probe direction through an orthogonal Procrustes map.

Fit W minimising ||Xs W - Xt||_F with W having orthonormal rows (d_s <= d_t) or columns, on the
centred TRAIN activations of the same texts in both spaces: W = U V^T from the SVD of Xs^T Xt
(core/stats/procrustes.py; between models of different width W is semi-orthogonal, no PCA step).
A source direction v maps to W^T v in the target space, where it is scored on the target's test split
(AUROC with an instance-clustered CI). Model -> model rows take the source layer at the target's
chosen layer's relative depth, from every other model of the profile whose extraction is complete;
score agreement is the Spearman correlation of the two models' own probe scores on the same test texts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from analyses.probes.frame import Frame
from core import paths
from core.activations import key_fields
from core.cache import ActivationCache
from core.context import RunContext
from core.stats.probes import fit_probe
from core.stats.procrustes import map_direction, matched_layer, procrustes


def transfer_row(src: np.ndarray, tgt: np.ndarray, frame: Frame) -> dict[str, float]:
    """Procrustes-mapped source direction scored on the target's test split (clustered CI), the
    Spearman correlation of the two models' own probe scores, and the mapped direction's cosine to the
    target's own probe."""
    train, test = frame.mask("train"), frame.mask("test")
    w = procrustes(src[train], tgt[train])
    source_dir = fit_probe("mean_diff", src[train], frame.y[train]).direction.astype(np.float64)
    target_dir = fit_probe("mean_diff", tgt[train], frame.y[train]).direction.astype(np.float64)
    mapped = map_direction(w, source_dir)
    rho = spearmanr(src[test] @ source_dir, tgt[test] @ target_dir).statistic
    return {"score_spearman": float(rho), **frame.ci(tgt @ mapped, test, prefix="transfer_"),
            "mapped_cosine_to_target_probe": float(mapped @ target_dir)}


def transfer(ctx: RunContext, acts: np.ndarray, frame: Frame, layer: int) -> pd.DataFrame:
    """`probes_transfer`: other models' chosen-layer directions mapped into this model; and this model's
    layer -> layer."""
    rows = [{"source_model": ctx.alias, "target_model": ctx.alias, "source_layer": layer, "target_layer": t,
             **transfer_row(acts[layer], acts[t], frame)} for t in range(acts.shape[0])]
    ids = [t.text_id for t in ctx.dataset.texts]
    for other in ctx.params.run_models:
        if other == ctx.alias:
            continue
        cache = ActivationCache.at(paths.activations_dir(other, ctx.params.comparison),
                                   key_fields(ctx.params, other, ctx.dataset))
        if not cache.complete:
            continue
        src = cache.load(ids)
        src_layer = matched_layer(layer, acts.shape[0], src.shape[0])
        rows.append({"source_model": other, "target_model": ctx.alias, "source_layer": src_layer,
                     "target_layer": layer, **transfer_row(src[src_layer], acts[layer], frame)})
    return pd.DataFrame(rows)
