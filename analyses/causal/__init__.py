"""Shared by the causal phases (patching, mediation, ablation): base runs, behaviour, verdicts."""
