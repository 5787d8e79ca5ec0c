"""Provenance (DESIGN P7): every result row carries a run_id that resolves to a `runs` row."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import uuid
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from importlib import metadata

import pandas as pd

_PACKAGES = ["torch", "transformers", "nnsight", "numpy", "scikit-learn", "duckdb", "pandas", "vllm"]


def new_run_id() -> str:
    """A fresh run id (12 hex digits)."""
    return uuid.uuid4().hex[:12]


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
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


class ProvenanceError(RuntimeError):
    """A run's provenance is wrong: two values for one input of a run."""


class MissingProvenance(ProvenanceError):
    """A run's provenance lacks a field it needs (DESIGN P7): an error, never a silent ''."""


# What a runs row says for an input a run over all models does not read (collect reads no dataset).
NOT_APPLICABLE = ""


@dataclass
class Inputs:
    """What a run actually read, recorded by the RunContext as the phase opens it (never by a phase by hand).

    A value is set once: a second, different value (a dataset file edited between an interrupted run
    and its rerun, a hub revision that moved) is an error, so one run never mixes two inputs.
    """

    dataset_hash: str | None = None
    model_revision: str | None = None

    def record(self, name: str, value: str) -> None:
        """Set `name` (dataset_hash or model_revision), refusing a conflicting second value."""
        old = getattr(self, name)
        if old is not None and old != value:
            raise ProvenanceError(f"{name}: this run read {value!r}, but it already read {old!r}")
        setattr(self, name, value)

    def require(self, name: str, needed: bool) -> str:
        """The recorded value; an error when the run needs it and never read it."""
        value = getattr(self, name)
        if value is None and needed:
            raise MissingProvenance(f"{name} was never resolved: open it through the RunContext")
        return NOT_APPLICABLE if value is None else str(value)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Inputs:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Provenance:
    """A run's `runs` row (DESIGN P7), in column order; every field is required and None is an error."""

    run_id: str
    phase: str
    model: str
    git_sha: str
    versions: str
    profile: str
    params_hash: str
    seed: int
    dataset_hash: str
    device: str
    model_id: str
    model_revision: str
    started_at: str
    finished_at: str
    wall_s: float

    def __post_init__(self) -> None:
        missing = [f.name for f in fields(self) if getattr(self, f.name) is None]
        if missing:
            raise MissingProvenance(f"provenance of run {self.run_id} lacks {', '.join(missing)}")

    def row(self) -> pd.DataFrame:
        """The one-row `runs` table."""
        return pd.DataFrame([asdict(self)])
