"""Fixtures for the TUI tests: a small results store in tmp_path, never the real outputs/."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

SNAPSHOT_PYTHON = (3, 11)  # snapshots are generated on one Python (harlequin's rule)

DVC_YAML = """\
stages:
  extract:
    foreach: [m1]
    do:
      cmd: python -m analyses extract --model ${item}
      outs:
        - outputs/extract/${item}
  probes:
    foreach: [m1]
    do:
      cmd: python -m analyses probes --model ${item}
      outs:
        - outputs/probes/${item}
  collect:
    cmd: python -m analyses collect
    outs: [outputs/results.duckdb]
"""
PARAMS_YAML = "seed: 1\nprofiles:\n  paper: {gpu: true}\n  smoke: {gpu: false}\n  v0: {}\n"


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to rewrite snapshots on another Python: fonts of SVG text can shift between versions."""
    if config.getoption("--snapshot-update", default=False) and sys.version_info[:2] != SNAPSHOT_PYTHON:
        raise pytest.UsageError(f"update snapshots on Python {SNAPSHOT_PYTHON} only")


def _write(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False)


def auroc_frame(model: str = "m1", layers: int = 42) -> pd.DataFrame:
    """252 deterministic rows (42 layers x 2 methods x 3 splits): three pages of 100."""
    rows = [
        {"run_id": "r-probes", "model": model, "layer": layer, "method": method, "split": split,
         "auroc": round(0.55 + 0.4 * layer / (layers - 1) - (0.05 if method == "mean_diff" else 0), 4),
         "ci_low": 0.5, "ci_high": 1.0}
        for layer in range(layers) for method in ("mean_diff", "logistic")
        for split in ("train", "validation", "test")
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fake repository root: dvc.yaml, params.yaml and outputs/ with a few published tables."""
    (tmp_path / "dvc.yaml").write_text(DVC_YAML)
    (tmp_path / "params.yaml").write_text(PARAMS_YAML)
    out = tmp_path / "outputs"
    _write(auroc_frame(), out / "probes/m1/probes_auroc/part-final.parquet")
    _write(pd.DataFrame({"run_id": ["r-probes"], "phase": ["probes"], "wall_s": [5.0]}),
           out / "probes/m1/runs/part-final.parquet")
    _write(pd.DataFrame({"run_id": ["r-extract"], "phase": ["extract"], "wall_s": [200.0]}),
           out / "extract/m1/runs/part-final.parquet")
    _write(pd.DataFrame({"run_id": ["r-extract"], "model": ["m1"], "n_texts": [468], "tokens": [100213]}),
           out / "extract/m1/extract_summary/part-final.parquet")
    # Unpublished work that must never show up: a staging run and a swapped-out old folder.
    _write(auroc_frame(layers=2), out / ".staging/probes-m1-abc/probes_auroc/part-0.parquet")
    _write(auroc_frame(layers=2), out / "probes/.m1.old/probes_auroc/part-final.parquet")
    _write(pd.DataFrame({"x": [1]}), out / "collect/.hidden/staged_only/part-final.parquet")
    return tmp_path
