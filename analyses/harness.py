"""The harness around a phase (P1, P7): validate, seed, run, stamp provenance, write, publish.

A run stages its tables in outputs/.staging/<phase>-<model>-<params hash>/ and swaps them into
outputs/<phase>/<model>/ only when it finishes; an interrupted run leaves the staging folder, whose
finished work units a rerun with the same parameters reuses (same run_id, no duplicate rows).
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

import pandas as pd

from analyses import PHASES
from core import paths
from core.config import Params
from core.context import RunContext, seed_everything
from core.provenance import new_run_id, now, runs_row
from core.store import publish, write_tables


def _run_id_for(staging: Path) -> str:
    """Reuse the run_id of an interrupted run with the same parameters, else a new one."""
    marker = staging / "run_id"
    return marker.read_text().strip() if marker.exists() else new_run_id()


def mark_started(ctx: RunContext) -> None:
    """Create the staging folder (first write of a run; input has been validated by then)."""
    ctx.staging.mkdir(parents=True, exist_ok=True)
    (ctx.staging / "run_id").write_text(ctx.run_id)


def stamp(tables: dict[str, pd.DataFrame], run_id: str, alias: str) -> dict[str, pd.DataFrame]:
    """Put run_id and model first in every table (the provenance key of each row)."""
    out = {}
    for name, df in tables.items():
        df = df.drop(columns=[c for c in ("run_id", "model") if c in df.columns])
        df.insert(0, "model", alias)
        df.insert(0, "run_id", run_id)
        out[name] = df
    return out


def run_phase(name: str, params: Params, alias: str) -> dict[str, pd.DataFrame]:
    """Run one phase for one model (or for all, alias '_all') and publish its tables."""
    module = importlib.import_module(f"analyses.{name}")
    staging = paths.staging_dir(name, alias, params.hash())
    run_id = _run_id_for(staging)
    ctx = RunContext(params, alias, run_id, staging, phase=name)
    if PHASES[name].per_model:
        ctx.dataset  # noqa: B018 - load and validate the input before anything is written
    mark_started(ctx)
    seed_everything(params.seed)
    started, t0 = now(), time.perf_counter()
    tables = stamp(module.run(getattr(params, name), ctx), run_id, alias)
    spec = params.models.get(alias)
    tables["runs"] = runs_row(run_id, name, alias, {
        "profile": params.profile, "params_hash": params.hash(), "seed": params.seed,
        "dataset_hash": ctx.extra.get("dataset_hash", ""), "device": ctx.device,
        "model_id": spec.hf_id if spec else "", "model_revision": ctx.extra.get("model_revision", ""),
        "started_at": started, "finished_at": now(), "wall_s": round(time.perf_counter() - t0, 3)})
    write_tables(staging, tables, unit="final")
    (staging / "run_id").unlink()
    publish(staging, paths.phase_dir(name, alias, params.comparison))
    return tables


def phase_models(name: str, params: Params, alias: str | None) -> list[str]:
    """Which model aliases a phase runs for: the one asked, else every model of the profile."""
    if not PHASES[name].per_model:
        return ["_all"]
    return [alias] if alias else list(params.run_models)
