"""A plain-text summary of the collected results (what `make run` prints without a terminal)."""

from __future__ import annotations

import duckdb

from core import paths
from core.errors import InputError


def print_summary() -> None:
    """Print the chosen probe layers and per-layer test AUROC from results.duckdb (read-only)."""
    db = paths.database()
    if not db.exists():
        raise InputError(db, "no results yet: run the pipeline first (make run)")
    with duckdb.connect(str(db), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        print(f"{db}: {len(tables)} tables: {', '.join(sorted(tables))}")
        if "probes_selected" in tables:
            print("\nProbe layer chosen on validation families, scored on held-out test families:")
            print(con.sql("SELECT model, method, layer, round(depth_frac, 2) AS depth, round(select_auroc, 3) AS "
                          "select_auroc, selected_on, round(test_auroc, 3) AS test_auroc, round(ci_low, 3) AS ci_low, "
                          "round(ci_high, 3) AS ci_high FROM probes_selected ORDER BY model, method"))
        if "probes_auroc" in tables:
            print("Test AUROC by layer (mean-difference probe):")
            print(con.sql("SELECT model, layer, round(auroc, 3) AS auroc, round(ci_low, 3) AS lo, "
                          "round(ci_high, 3) AS hi FROM probes_auroc WHERE split = 'test' AND method = "
                          "'mean_diff' ORDER BY model, layer").fetchdf().to_string(index=False))
