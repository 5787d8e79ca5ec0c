"""The dataset phase's published generations, as every reader sees them (validate, `dataset promote`,
`review`): one module outside the phases, so that no phase imports another's package."""

from __future__ import annotations

import pandas as pd

from core import paths
from core.store import read_table

TEXTS, PAIRS = "dataset_generated", "dataset_generated_pairs"


def load_generated(aliases: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Published generated texts and pairs of the given generators (default: every one found)."""
    root = paths.phase_root("dataset")
    found = sorted(p.name for p in root.glob("*") if (p / TEXTS).is_dir()) if root.is_dir() else []
    chosen = aliases if aliases is not None else found
    texts = [read_table(paths.phase_dir("dataset", a), TEXTS) for a in chosen]
    pairs = [read_table(paths.phase_dir("dataset", a), PAIRS) for a in chosen]
    if not texts:
        return pd.DataFrame(), pd.DataFrame()
    return pd.concat(texts, ignore_index=True), pd.concat(pairs, ignore_index=True)
