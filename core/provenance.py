"""Provenance (DESIGN P7): every result row carries a run_id that resolves to a `runs` row."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import uuid
from datetime import UTC, datetime
from importlib import metadata

import pandas as pd

_PACKAGES = ["torch", "transformers", "nnsight", "numpy", "scikit-learn", "duckdb", "pandas", "vllm"]


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def git_sha() -> str:
    """HEAD's commit, suffixed with -dirty when tracked files differ; outside git (the Docker image)
    the EIA_GIT_SHA baked in at build time, else 'unknown'."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("EIA_GIT_SHA") or "unknown"
    return sha.strip() + ("-dirty" if dirty.strip() else "")


def versions() -> str:
    """Installed versions of the libraries that shape results, as JSON."""
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    found["python"] = platform.python_version()
    return json.dumps(found, sort_keys=True)


def runs_row(run_id: str, phase: str, model: str, fields: dict[str, object]) -> pd.DataFrame:
    """The one-row `runs` table for a phase run."""
    row: dict[str, object] = {"run_id": run_id, "phase": phase, "model": model, "git_sha": git_sha(),
                              "versions": versions()}
    row.update(fields)
    return pd.DataFrame([row])
