"""Compare every published table of two output trees, up to row order and run ids.

    python bench/table_digest.py OUTPUTS_A OUTPUTS_B [--rename OLD=NEW ...] [--atol 0]

For a refactor that must not change behaviour: each table (all parts of outputs/<phase>/<model>/
<table>/) is read, the columns that identify a run or time it (run_id, timings, git sha, library
versions) are dropped, rows are sorted, and the two frames are compared cell by cell. Floats are
compared exactly unless --atol is given; the largest difference is printed either way. `--rename`
maps a table name of tree A to its name in tree B (tables renamed by the refactor). Exit 1 if any
table differs or is missing on one side.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

VOLATILE = {"run_id", "wall_s", "started_at", "finished_at", "git_sha", "git_dirty", "versions", "seconds",
            "tokens_per_s", "elapsed_s", "timings"}


def tables(outputs: Path) -> dict[str, pd.DataFrame]:
    """Every published table of a tree, keyed '<phase>/<model>/<table>'."""
    parts: dict[str, list[Path]] = defaultdict(list)
    for part in sorted(outputs.glob("*/*/*/part-*.parquet")):
        phase, model, table, _ = part.relative_to(outputs).parts
        if not any(n.startswith(".") for n in (phase, model, table)):
            parts[f"{model}/{table}"].append(part)
    return {k: pd.concat([pd.read_parquet(p) for p in v], ignore_index=True) for k, v in parts.items()}


def canonical(df: pd.DataFrame) -> pd.DataFrame:
    """Drop run-identifying columns, order columns by name and rows by every column."""
    df = df.drop(columns=[c for c in df.columns if c in VOLATILE or c.endswith("_s")])
    df = df[sorted(df.columns)]
    key = df.map(lambda v: repr(v.tolist()) if isinstance(v, np.ndarray) else repr(v))
    return df.iloc[np.lexsort([key[c].to_numpy() for c in reversed(key.columns)])].reset_index(drop=True)


def max_diff(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """Largest absolute difference over the numeric columns (inf if shapes or columns differ)."""
    if a.shape != b.shape or list(a.columns) != list(b.columns):
        return float("inf")
    worst = 0.0
    for col in a.columns:
        if pd.api.types.is_numeric_dtype(a[col]) and pd.api.types.is_numeric_dtype(b[col]):
            x, y = a[col].to_numpy(float), b[col].to_numpy(float)
            both_nan = np.isnan(x) & np.isnan(y)
            if (np.isnan(x) != np.isnan(y)).any():
                return float("inf")
            worst = max(worst, float(np.abs(x[~both_nan] - y[~both_nan]).max(initial=0.0)))
        elif not a[col].astype(str).equals(b[col].astype(str)):
            return float("inf")
    return worst


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW")
    p.add_argument("--atol", type=float, default=0.0)
    args = p.parse_args()
    rename = dict(r.split("=", 1) for r in args.rename)
    ta = {"/".join([k.split("/")[0], rename.get(k.split("/")[1], k.split("/")[1])]): v
          for k, v in tables(args.a).items()}
    tb = tables(args.b)
    bad = 0
    for key in sorted(set(ta) | set(tb)):
        if key not in ta or key not in tb:
            print(f"MISSING  {key} (only in {'A' if key in ta else 'B'})")
            bad += 1
            continue
        diff = max_diff(canonical(ta[key]), canonical(tb[key]))
        ok = diff <= args.atol
        bad += not ok
        print(f"{'same    ' if ok else 'DIFFERS '} {key}  rows={len(ta[key])}/{len(tb[key])}  max_abs_diff={diff:.3g}")
    print(f"{len(set(ta) | set(tb)) - bad} of {len(set(ta) | set(tb))} tables identical (atol={args.atol})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
