"""What every probes table is computed over: labels, splits and the instance clusters of the texts,
and the one AUROC-with-CI that every table reports.

Every CI here is instance-clustered (core.stats.estimates.cluster_bootstrap_auroc): an instance's
texts (its 2x2 cells) are resampled together. Every call uses the run's seed, so two scores on the
same split are scored on the same instance resamples (what the paired margin relies on).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.data import Dataset
from core.data.splits import assign_splits
from core.stats.estimates import auroc, cluster_bootstrap_auroc


@dataclass(frozen=True)
class Frame:
    """Per text: empathy label, split, instance (the bootstrap cluster) and family; n_boot and seed."""

    y: np.ndarray
    splits: np.ndarray
    instances: np.ndarray
    families: np.ndarray
    n_boot: int
    seed: int

    @classmethod
    def of(cls, ds: Dataset, split_mode: str, n_boot: int, seed: int) -> Frame:
        """The frame of a dataset under a split mode (families | v0_random_pairs)."""
        return cls(np.array([t.empathic for t in ds.texts]), np.array(assign_splits(ds.texts, split_mode)),
                   np.array([t.instance_id for t in ds.texts]), np.array([t.family for t in ds.texts]),
                   n_boot, seed)

    def mask(self, split: str) -> np.ndarray:
        """Rows of one split."""
        return np.asarray(self.splits == split)

    def ci(self, scores: np.ndarray, mask: np.ndarray, labels: np.ndarray | None = None,
           prefix: str = "") -> dict[str, float]:
        """{prefix}auroc and its instance-clustered 95% CI over the rows of `mask` (labels: y by default)."""
        y = (self.y if labels is None else np.asarray(labels)).astype(bool)[mask]
        s = np.asarray(scores, dtype=np.float64)[mask]
        lo, hi = cluster_bootstrap_auroc(s, y, self.instances[mask], self.n_boot, self.seed)
        return {f"{prefix}auroc": auroc(s, y), f"{prefix}ci_low": lo, f"{prefix}ci_high": hi}


def empathy_pairs(ds: Dataset, keep: np.ndarray) -> np.ndarray:
    """[m, 2] row indices (empathic, non-empathic) of the empathy pairs with both texts in `keep`."""
    row = {t.text_id: i for i, t in enumerate(ds.texts)}
    pairs = np.array([(row[p.positive.text_id], row[p.negative.text_id]) for p in ds.pairs
                      if p.kind.startswith("empathy")], dtype=int).reshape(-1, 2)
    return pairs[keep[pairs[:, 0]] & keep[pairs[:, 1]]]
