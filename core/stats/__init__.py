"""Statistics: AUROC and bootstrap CIs, nulls, probes, directions."""
