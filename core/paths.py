"""The single map of the on-disk layout; nothing else builds output paths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

OUTPUTS = Path("outputs")
# validate's folder of human review tables, beside its run's `_all` (so a validate rerun, which swaps
# `_all`, keeps them); not a model, so the Pipeline screen does not count it as a finished run
REVIEW = "_review"


def phase_dir(phase: str, model: str, comparison: str | None = None) -> Path:
    """outputs/<phase>/<model>; runs of a comparison profile (params `beside: true`, e.g. v0) sit beside it
    as <model>@<profile> so v0 and v1 numbers coexist (`comparison` is that profile, Params.comparison)."""
    return OUTPUTS / phase / (f"{model}@{comparison}" if comparison else model)


def staging_dir(phase: str, model: str, params_hash: str) -> Path:
    return OUTPUTS / ".staging" / f"{phase}-{model}-{params_hash}"


def activations_dir(model: str, comparison: str | None = None) -> Path:
    """outputs/activations/<model>, or <model>@<profile> for a comparison profile (its own DVC out)."""
    return OUTPUTS / "activations" / (f"{model}@{comparison}" if comparison else model)


def variant_activations_dir(phase: str, model: str) -> Path:
    """Activation caches of edited texts (e.g. ablation's variants): outputs/activations_<phase>/<model>,
    apart from extract's cache so the two DVC stages never share an output."""
    return OUTPUTS / f"activations_{phase}" / model


def figures_dir() -> Path:
    return OUTPUTS / "figures"


def database() -> Path:
    return OUTPUTS / "results.duckdb"


def published_parts(outputs: Path = OUTPUTS) -> Iterator[tuple[str, str, str, Path]]:
    """(phase, model, table, part) for every published Parquet part, outputs/<phase>/<model>/<table>/
    part-*.parquet, in path order; staging and swap folders (names starting with '.') are skipped.
    collect and the TUI both read exactly these parts."""
    for part in sorted(outputs.glob("*/*/*/part-*.parquet")):
        phase, model, table, _ = part.relative_to(outputs).parts
        if not any(name.startswith(".") for name in (phase, model, table)):
            yield phase, model, table, part


def phase_root(phase: str) -> Path:
    """outputs/<phase>, the parent of every model's folder of a phase."""
    return OUTPUTS / phase


def review_dir(outputs: Path = OUTPUTS) -> Path:
    """Human review ratings (`validate_review`, `validate_review_summary`), collected like validate's tables."""
    return outputs / "validate" / REVIEW


def review_sheet(name: str, outputs: Path = OUTPUTS) -> Path:
    """A review sheet for a person to fill in (a CSV, not a table part, so `collect` skips it)."""
    return review_dir(outputs) / "sheets" / name
