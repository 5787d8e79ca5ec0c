"""The harness: work units resume without duplicates, publishing is all-or-nothing, provenance is typed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from analyses.harness import FINAL, PhaseRun, Tables, Units, final, run_phase
from core import paths
from core.config import load_params
from core.context import RunContext
from core.provenance import Inputs, MissingProvenance, Provenance, ProvenanceError
from core.store import read_table
from tests.conftest import ROOT, write_mini_dataset

UNITS = ("u1", "u2", "u3")


class Toy:
    """A phase of three work units (two rows each) and a closing table summing every unit's rows."""

    def __init__(self) -> None:
        self.computed: list[str] = []

    def run(self, cfg: object, ctx: RunContext) -> PhaseRun:
        def compute(todo: list[str]) -> Iterator[tuple[str, Tables]]:
            for unit in todo:
                self.computed.append(unit)
                n = int(unit[1:])
                yield unit, {"collect_rows": pd.DataFrame({"unit": [unit, unit], "value": [n, 10 * n]})}

        rows = (yield Units(UNITS, compute)).tables["collect_rows"]
        yield final({"collect_total": pd.DataFrame({"total": [int(rows.value.sum())], "n": [len(rows)]})})


def _kill_after(n: int):
    seen: list[str] = []

    def on_unit(unit: str) -> None:
        seen.append(unit)
        if len(seen) == n:
            raise RuntimeError("killed")
    return on_unit


def _published(alias: str = "_all") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    folder = paths.phase_dir("collect", alias)
    rows = read_table(folder, "collect_rows").drop(columns="run_id").sort_values(["unit", "value"], ignore_index=True)
    return rows, read_table(folder, "collect_total").drop(columns="run_id"), read_table(folder, "runs")


def test_killed_run_resumes_only_the_missing_unit_and_publishes_what_an_uninterrupted_run_does(in_tmp_outputs):
    params = load_params()
    clean = Toy()
    run_phase("collect", params, "_all", run=clean.run)
    expected_rows, expected_total, _ = _published()
    assert clean.computed == list(UNITS) and expected_total.total.iloc[0] == 66

    killed = Toy()
    with pytest.raises(RuntimeError, match="killed"):
        run_phase("collect", params, "_all", on_unit=_kill_after(2), run=killed.run)
    assert killed.computed == ["u1", "u2"]
    rows, total, runs = _published()  # the earlier publication is untouched by the killed run
    assert rows.equals(expected_rows) and len(runs) == 1
    staged = next((in_tmp_outputs / "outputs" / ".staging").glob("collect-*"))
    first_id = (staged / ".run" / "run_id").read_text()

    again = Toy()
    tables = run_phase("collect", params, "_all", run=again.run)
    assert again.computed == ["u3"]
    rows, total, runs = _published()
    assert rows.equals(expected_rows) and total.equals(expected_total)
    assert not rows.duplicated().any() and len(rows) == 6
    assert runs.run_id.tolist() == [first_id] and set(tables["collect_rows"].run_id) == {first_id}
    assert not staged.exists()
    folder = paths.phase_dir("collect", "_all")
    assert sorted(p.name for p in folder.iterdir()) == ["collect_rows", "collect_total", "runs"]  # no bookkeeping
    assert sorted(p.name for p in (folder / "collect_rows").iterdir()) == [f"part-{u}.parquet" for u in UNITS]
    assert [p.name for p in (folder / "collect_total").iterdir()] == [f"part-{FINAL}.parquet"]


def test_a_unit_the_phase_does_not_write_is_an_error(in_tmp_outputs):
    def lazy(cfg: object, ctx: RunContext) -> PhaseRun:
        yield Units(UNITS, lambda todo: [("u1", {"t": pd.DataFrame({"x": [1]})})])

    with pytest.raises(RuntimeError, match=r"unwritten: \['u2', 'u3'\]"):
        run_phase("collect", load_params(), "_all", run=lazy)
    assert not paths.phase_dir("collect", "_all").exists()


def test_a_per_model_run_that_never_resolves_its_model_revision_is_an_error(in_tmp_outputs):
    data = write_mini_dataset(in_tmp_outputs / "mini.json", per_family=1)
    params = load_params(overrides=[f"data.dataset={data}"])

    def blind(cfg: object, ctx: RunContext) -> PhaseRun:
        yield final({"t": pd.DataFrame({"n": [len(ctx.dataset.texts)]})})  # reads no model, no cache

    with pytest.raises(MissingProvenance, match="model_revision"):
        run_phase("probes", params, "smollm2-135m", run=blind)
    assert not paths.phase_dir("probes", "smollm2-135m").exists()  # nothing published without provenance


def test_provenance_fields_are_required_and_inputs_never_change_within_a_run():
    fields = dict(run_id="r", phase="p", model="m", git_sha="g", versions="{}", profile="smoke", params_hash="h",
                  seed=0, dataset_hash="d", device="cpu", model_id="i", model_revision="v", started_at="s",
                  finished_at="f", wall_s=1.0)
    assert list(Provenance(**fields).row().columns) == list(fields)
    with pytest.raises(MissingProvenance, match="model_revision"):
        Provenance(**{**fields, "model_revision": None})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Provenance(**{k: v for k, v in fields.items() if k != "dataset_hash"})  # type: ignore[call-arg]
    inputs = Inputs()
    with pytest.raises(MissingProvenance):
        inputs.require("dataset_hash", needed=True)
    assert inputs.require("dataset_hash", needed=False) == ""
    inputs.record("model_revision", "abc")
    inputs.record("model_revision", "abc")
    with pytest.raises(ProvenanceError, match="already read 'abc'"):
        inputs.record("model_revision", "def")
    assert Inputs.from_json(inputs.to_json()) == inputs


# A toy phase of eight units in its own process: each unit is logged when computed and takes `delay` s.
SLOW_TOY = """
import sys, time
import pandas as pd
from analyses.harness import Units, final, run_phase
from core.config import load_params
log, delay = open(sys.argv[1], "a"), float(sys.argv[2])
def toy(cfg, ctx):
    def compute(todo):
        for unit in todo:
            log.write(unit + "\\n")
            log.flush()
            time.sleep(delay)
            yield unit, {"collect_rows": pd.DataFrame({"unit": [unit], "value": [int(unit[1:]) ** 2]})}
    rows = (yield Units(tuple(f"u{i}" for i in range(8)), compute)).tables["collect_rows"]
    yield final({"collect_total": pd.DataFrame({"total": [int(rows.value.sum())], "n": [len(rows)]})})
run_phase("collect", load_params(), "_all", run=toy)
"""


def _toy_project(root: Path) -> Path:
    root.mkdir()
    (root / "data").symlink_to(ROOT / "data")
    (root / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    return root


def _toy(root: Path, log: str, delay: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", SLOW_TOY, log, str(delay)], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _toy_tables(root: Path) -> list[pd.DataFrame]:
    folder = root / "outputs" / "collect" / "_all"
    return [read_table(folder, t).drop(columns="run_id") for t in ("collect_rows", "collect_total")]


@pytest.mark.slow
def test_a_sigkilled_run_loses_at_most_the_unit_running_and_the_rerun_computes_only_the_rest(tmp_path):
    """Each unit is a part as soon as it is computed: after SIGKILL the rerun computes exactly the units
    without a part, and publishes the tables an uninterrupted run does."""
    clean, killed = _toy_project(tmp_path / "clean"), _toy_project(tmp_path / "killed")
    proc = _toy(clean, "units.log", 0.0)
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode() if proc.stderr else ""
    proc = _toy(killed, "units.log", 0.5)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(killed.glob("outputs/.staging/collect-*/.units/*.json"))) < 3:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    done = sorted(p.stem for p in killed.glob("outputs/.staging/collect-*/.units/*.json"))
    assert 3 <= len(done) < 8 and done == [f"u{i}" for i in range(len(done))]
    assert (killed / "units.log").read_text().split()[:len(done)] == done  # at most one more was running
    proc = _toy(killed, "rerun.log", 0.0)
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode() if proc.stderr else ""
    assert (killed / "rerun.log").read_text().split() == [f"u{i}" for i in range(len(done), 8)]
    for ours, theirs in zip(_toy_tables(killed), _toy_tables(clean), strict=True):
        assert ours.equals(theirs)
    assert _toy_tables(killed)[1].n.iloc[0] == 8
