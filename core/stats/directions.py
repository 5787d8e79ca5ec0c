"""Fitted probe directions, as the causal phases use them: unit vectors per layer, and layer lists.

The probes phase stores `probes_directions` (layer, method, threshold, direction) and
`probes_selected` (the validation-chosen layer per method); these helpers read them back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from core.errors import InputError
from core.store import read_table


def load_directions(folder: Path, method: str) -> dict[int, np.ndarray]:
    """layer -> unit direction (float32) of one probe method."""
    table = read_table(folder, "probes_directions")
    rows = table[table.method == method]
    if rows.empty:
        raise InputError(folder, f"no '{method}' probe directions; run probes with that method", field="method")
    out = {}
    for layer, vec in zip(rows.layer, rows.direction, strict=True):
        v = np.asarray(vec, dtype=np.float64)
        out[int(layer)] = (v / np.linalg.norm(v)).astype(np.float32)
    return out


def selected_layer(folder: Path, method: str) -> int | None:
    """The layer the probes phase chose on validation for `method` (None when it has no row)."""
    table = read_table(folder, "probes_selected")
    rows = table[table.method == method]
    return int(rows.layer.iloc[0]) if len(rows) else None


def resolve_layers(spec: Literal["all"] | list[int], n_layers: int, where: str = "params.yaml") -> list[int]:
    """'all' or an explicit list (negative indices count from the end), checked against the model."""
    if spec == "all":
        return list(range(n_layers))
    layers = sorted({i % n_layers if -n_layers <= i < 0 else i for i in spec})
    bad = [i for i in layers if not 0 <= i < n_layers]
    if bad:
        raise InputError(where, f"layers {bad} out of range for a {n_layers}-layer model", field="layers")
    return layers
