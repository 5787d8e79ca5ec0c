"""Analyses: one module per phase, each exposing `run(cfg, ctx) -> dict[str, DataFrame]` (DESIGN P1).

PHASES is the registry that the CLI, dvc.yaml and the TUI agree on (P4, checked by a test).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    name: str
    per_model: bool
    needs_model: bool
    summary: str


PHASES: dict[str, Phase] = {
    "extract": Phase("extract", True, True, "cache pooled residuals of every layer for every text"),
    "probes": Phase("probes", True, False, "mean-difference and logistic probes per layer, AUROC with CIs"),
    "collect": Phase("collect", False, False, "gather every Parquet table into outputs/results.duckdb"),
}
