"""Analyses: one module per phase, each exposing `run(cfg, ctx)`, a generator of work units whose tables
the harness writes (analyses/harness.py; DESIGN P1).

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
    "dataset": Phase("dataset", True, True, "generate contrastive responses per design cell, with provenance"),
    "validate": Phase("validate", False, True, "duplicate, confound, diversity and judge checks of every pair"),
    "extract": Phase("extract", True, True, "cache pooled residuals of every layer for every text"),
    "probes": Phase("probes", True, False, "mean-difference and logistic probes per layer, AUROC with CIs"),
    "baselines": Phase("baselines", True, False, "random-direction and label-permutation nulls with p-values"),
    "behaviour": Phase("behaviour", True, True, "the cue's effect on forced-choice behaviour, per metric, with CIs"),
    "patching": Phase("patching", True, True, "activation, direction-only and attribution patching"),
    "ablation": Phase("ablation", True, True, "lexicon ablation in both classes vs a random-word control"),
    "mediation": Phase("mediation", True, True, "causal mediation through the probe direction per layer"),
    "steering": Phase("steering", True, True, "batched alpha sweeps: empathy scores, coherence, verdicts with CIs"),
    "collect": Phase("collect", False, False, "gather every Parquet table into outputs/results.duckdb"),
}
