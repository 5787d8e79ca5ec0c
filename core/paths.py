"""The single map of the on-disk layout; nothing else builds output paths."""

from __future__ import annotations

from pathlib import Path

OUTPUTS = Path("outputs")


def phase_dir(phase: str, model: str) -> Path:
    return OUTPUTS / phase / model


def staging_dir(phase: str, model: str, params_hash: str) -> Path:
    return OUTPUTS / ".staging" / f"{phase}-{model}-{params_hash}"


def activations_dir(model: str) -> Path:
    return OUTPUTS / "activations" / model


def figures_dir() -> Path:
    return OUTPUTS / "figures"


def database() -> Path:
    return OUTPUTS / "results.duckdb"
