"""The single map of the on-disk layout; nothing else builds output paths."""

from __future__ import annotations

from pathlib import Path

OUTPUTS = Path("outputs")


def phase_dir(phase: str, model: str, profile: str = "smoke") -> Path:
    """outputs/<phase>/<model>; runs of comparison profiles (v0) sit beside it as <model>@<profile>
    so v0 and v1 numbers coexist."""
    return OUTPUTS / phase / (model if profile in ("smoke", "paper") else f"{model}@{profile}")


def staging_dir(phase: str, model: str, params_hash: str) -> Path:
    return OUTPUTS / ".staging" / f"{phase}-{model}-{params_hash}"


def activations_dir(model: str) -> Path:
    return OUTPUTS / "activations" / model


def variant_activations_dir(phase: str, model: str) -> Path:
    """Activation caches of edited texts (e.g. ablation's variants): outputs/activations_<phase>/<model>,
    apart from extract's cache so the two DVC stages never share an output."""
    return OUTPUTS / f"activations_{phase}" / model


def figures_dir() -> Path:
    return OUTPUTS / "figures"


def database() -> Path:
    return OUTPUTS / "results.duckdb"


def phase_root(phase: str) -> Path:
    """outputs/<phase>, the parent of every model's folder of a phase."""
    return OUTPUTS / phase


def review_dir() -> Path:
    """Human review ratings (`human_review`, `review_summary`), collected like a phase's tables."""
    return OUTPUTS / "review" / "_all"


def review_sheet(name: str) -> Path:
    """A review sheet for a person to fill in (outside the table tree, so `collect` skips it)."""
    return OUTPUTS / "review" / "sheets" / name
