"""The harness around a phase (P1, P7): validate, seed, drive its work units, stamp provenance, publish.

A phase is a generator: `run(cfg, ctx)` yields `Units` (work unit ids, and how to compute the ones
not yet done) and is sent back `Rows`, every one of those units' rows as written. A phase with one
unit yields `final(tables)`. The harness owns the rest:

- staging: a run writes into outputs/.staging/<phase>-<model>-<params hash>/, each unit's tables as
  <table>/part-<unit>.parquet followed by a marker that the unit is done (core.store.write_unit);
- resume: an interrupted run leaves that folder; a rerun with the same parameters reuses its run_id
  and the inputs it resolved, computes only the units without a marker and reads the others back,
  so the published tables equal those of an uninterrupted run (no unit twice, none missing). Each
  unit is written the moment `compute` yields it (parquet and marker by temporary name + rename), so
  a kill, SIGKILL included, loses only the units of the batched call running: a phase bounds that loss
  by the size of its units and calls (dataset: `instances_per_unit`; steering: `batch_rows`), and
  plans its calls over every unit so a resumed run makes the calls an uninterrupted one would;
- provenance: each row is stamped with run_id and model, and the run's `runs` row is a typed
  `Provenance` whose inputs (dataset hash, resolved model revision) the RunContext recorded;
- publish: the finished folder, less the harness's bookkeeping and any part no unit of this run
  wrote, replaces outputs/<phase>/<model>/ in one rename.
"""

from __future__ import annotations

import importlib
import shutil
import sys
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analyses import PHASES
from core import paths
from core.config import Params
from core.context import RunContext, seed_everything
from core.data import Dataset
from core.data.splits import ADVICE, families_by_split, split_problems
from core.errors import InputError
from core.provenance import Inputs, Provenance, git_sha, new_run_id, now, versions
from core.store import done_units, publish, read_unit, write_tables, write_unit

Tables = dict[str, pd.DataFrame]
FINAL = "final"  # the unit of a phase's closing tables (its only unit when it has one)
_RUN = ".run"  # staging bookkeeping: run_id and resolved inputs of a run that may be resumed


@dataclass(frozen=True)
class Units:
    """Work units computed together, in order; `compute` gets the ids not yet done and yields
    (unit_id, tables) for each of them (a batched call may yield several at once)."""

    ids: tuple[str, ...]
    compute: Callable[[list[str]], Iterable[tuple[str, Tables]]]


@dataclass(frozen=True)
class Rows:
    """What the harness sends back for a Units: each table's rows over all its units, as written
    (stamped, read back from the parts in part order), and the units a previous run had finished."""

    tables: Tables
    resumed: tuple[str, ...]


PhaseRun = Generator[Units, Rows, None]


def final(tables: Tables) -> Units:
    """The closing unit of a phase: tables computed at once (a rerun reads them back if they were written)."""
    return Units((FINAL,), lambda todo: [(FINAL, tables)])


def stamp(tables: Tables, run_id: str, alias: str) -> Tables:
    """Put run_id and model first in every table (the provenance key of each row)."""
    out = {}
    for name, df in tables.items():
        df = df.drop(columns=[c for c in ("run_id", "model") if c in df.columns])
        df.insert(0, "model", alias)
        df.insert(0, "run_id", run_id)
        out[name] = df
    return out


class Staging:
    """A run's staging folder: its run_id, resolved inputs and finished work units."""

    def __init__(self, folder: Path):
        self.folder, self.written = folder, set[str]()
        marker = folder / _RUN / "run_id"
        self.run_id = marker.read_text().strip() if marker.exists() else new_run_id()
        saved = folder / _RUN / "inputs.json"
        self.inputs = Inputs.from_json(saved.read_text()) if saved.exists() else Inputs()
        self.done = done_units(folder)
        self.resumed = frozenset(self.done)

    def start(self) -> None:
        """Create the folder (first write of a run; its input has been validated by then)."""
        (self.folder / _RUN).mkdir(parents=True, exist_ok=True)
        (self.folder / _RUN / "run_id").write_text(self.run_id)

    def write(self, unit: str, tables: Tables, alias: str) -> None:
        """Stamp and write one unit, saving the inputs resolved so far (a rerun of a kill needs them)."""
        (self.folder / _RUN / "inputs.json").write_text(self.inputs.to_json())
        write_unit(self.folder, unit, stamp(tables, self.run_id, alias))
        self.done.add(unit)

    def rows(self, units: Units) -> Rows:
        """Every table of these units, concatenated in part order (the order a folder listing gives)."""
        self.written.update(units.ids)
        parts = {u: read_unit(self.folder, u) for u in sorted(units.ids, key=lambda u: f"part-{u}.parquet")}
        names = sorted({name for tables in parts.values() for name in tables})
        tables = {n: pd.concat([t[n] for t in parts.values() if n in t], ignore_index=True) for n in names}
        return Rows(tables, tuple(u for u in units.ids if u in self.resumed))

    def seal(self) -> None:
        """Drop the bookkeeping and any part that no unit of this run wrote (a stale plan's leftovers)."""
        shutil.rmtree(self.folder / _RUN, ignore_errors=True)
        shutil.rmtree(self.folder / ".units", ignore_errors=True)
        keep = {f"part-{u}.parquet" for u in self.written | {FINAL}}
        for part in self.folder.glob("*/part-*.parquet"):
            if part.name not in keep:
                part.unlink()


def check_splits(name: str, module: Any, params: Params, ds: Dataset) -> None:
    """Before any compute: the splits a phase declares (its module's `splits_needed(params)`) hold both classes
    for this dataset; otherwise exit 2 saying which split is empty and what to do instead (a warning for a
    need that is not `fatal`)."""
    declared = getattr(module, "splits_needed", None)
    if declared is None:
        return
    need = declared(params)
    problems = split_problems(ds.texts, need)
    if not problems:
        return
    message = (f"{name} needs {need.why}, but under split mode '{need.mode}' {'; '.join(problems)} "
               f"({families_by_split(ds.texts, need.mode)}). Nothing was computed. Instead, {ADVICE}.")
    if need.fatal:
        raise InputError(ds.path, message, field="split")
    print(f"warning: {ds.path}: {message}", file=sys.stderr)


def drive(phase: PhaseRun, staging: Staging, alias: str, on_unit: Callable[[str], None] | None = None) -> None:
    """Run a phase's generator: compute the units not done, write each as it comes (then call on_unit with
    its id), send back their rows."""
    reply: Rows | None = None
    while True:
        try:
            units = phase.send(reply) if reply is not None else next(phase)
        except StopIteration:
            return
        if len(set(units.ids)) != len(units.ids) or set(units.ids) & staging.written:
            raise ValueError(f"work unit ids repeat: {units.ids}")
        todo = [u for u in units.ids if u not in staging.done]
        if todo:
            for unit, tables in units.compute(todo):
                if unit not in todo:
                    raise ValueError(f"phase computed unit {unit!r}, which was not asked for")
                staging.write(unit, tables, alias)
                if on_unit is not None:
                    on_unit(unit)
        missing = [u for u in units.ids if u not in staging.done]
        if missing:
            raise RuntimeError(f"phase left work units unwritten: {missing}")
        reply = staging.rows(units)


def run_phase(name: str, params: Params, alias: str, on_unit: Callable[[str], None] | None = None,
              run: Callable[[Any, RunContext], PhaseRun] | None = None, variant: str = "") -> Tables:
    """Run one phase for one model (or for all, alias '_all') and publish its tables.

    `on_unit(unit_id)` is called after each work unit this invocation computes is written (progress, or a
    test's kill switch); `run` replaces the phase's own `analyses.<name>.run` (a test's toy phase, or
    `probes --eval`); a `variant` (e.g. '@eval-FILE') stages and publishes beside the phase's own folder,
    as outputs/<phase>/<model><variant>/, so it never replaces the phase's own tables.
    """
    module = importlib.import_module(f"analyses.{name}")
    run = run or module.run
    staging = Staging(paths.staging_dir(name, alias + variant, params.hash()))
    ctx = RunContext(params, alias, staging.run_id, staging.folder, phase=name, inputs=staging.inputs)
    if PHASES[name].per_model:
        check_splits(name, module, params, ctx.dataset)  # load and check the input before anything is written
    staging.start()
    seed_everything(params.seed)
    started, t0 = now(), time.perf_counter()
    drive(run(getattr(params, name), ctx), staging, alias, on_unit)
    tables = staging.rows(Units(tuple(staging.written), lambda todo: [])).tables
    tables["runs"] = provenance(ctx, started, round(time.perf_counter() - t0, 3)).row()
    write_tables(staging.folder, {"runs": tables["runs"]}, unit=FINAL)  # its own columns: not stamped
    staging.seal()
    target = paths.phase_dir(name, alias, params.comparison)
    publish(staging.folder, target.with_name(target.name + variant))
    finish = getattr(module, "after_publish", None)
    if finish is not None:  # collect builds results.duckdb once its own tables are published too
        finish(getattr(params, name), ctx)
    return tables


def provenance(ctx: RunContext, started: str, wall_s: float) -> Provenance:
    """The run's typed `runs` record; a run over one model, or one that loads a model, must have read both
    the dataset and a resolved model revision."""
    phase, spec = PHASES[ctx.phase], ctx.params.models.get(ctx.alias)
    needed = phase.per_model or phase.needs_model
    return Provenance(
        run_id=ctx.run_id, phase=ctx.phase, model=ctx.alias, git_sha=git_sha(), versions=versions(),
        profile=ctx.params.profile, params_hash=ctx.params.hash(), seed=ctx.params.seed,
        dataset_hash=ctx.inputs.require("dataset_hash", needed), device=ctx.device,
        model_id=spec.hf_id if spec else "", model_revision=ctx.inputs.require("model_revision", needed),
        started_at=started, finished_at=now(), wall_s=wall_s)


def phase_models(name: str, params: Params, alias: str | None) -> list[str]:
    """Which model aliases a phase runs for: the one asked, else every model of the profile."""
    if not PHASES[name].per_model:
        return ["_all"]
    return [alias] if alias else list(params.run_models)
