"""Throwaway project folders for the end-to-end phase tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from analyses.__main__ import main
from core.paths import published_parts
from tests.conftest import ROOT, write_mini_dataset


@contextmanager
def _inside(root: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(root)
    try:
        yield
    finally:
        os.chdir(old)


@pytest.fixture(scope="session", autouse=True)
def tables_are_named_after_their_phase(tmp_path_factory) -> Iterator[None]:
    """P4 on real outputs: once the session's end-to-end runs are done, every table any of them published
    (outputs/<phase>/<model>/<table>/ under the session's temp folder) is named <phase>_... ("runs" is the
    harness's provenance table, shared by all phases)."""
    yield
    wrong = sorted({f"outputs/{phase}/{table}" for outputs in tmp_path_factory.getbasetemp().rglob("outputs")
                    for phase, _, table, _ in published_parts(outputs)
                    if table != "runs" and not table.startswith(f"{phase}_")})
    assert not wrong, f"tables not prefixed by their phase: {wrong}"


@contextmanager
def mini_project(root: Path) -> Iterator[Path]:
    """Make `root` a project (params.yaml, data/ and a one-instance-per-family mini dataset), work
    inside it, and yield the mini dataset's path; the working directory is restored afterwards."""
    (root / "data").symlink_to(ROOT / "data")
    (root / "params.yaml").write_text(one_model_params())
    data = write_mini_dataset(root / "mini.json", per_family=1)
    with _inside(root):
        yield data


def one_model_params() -> str:
    """params.yaml with the smoke profile on SmolLM2 alone: the end-to-end tests count one model's rows
    and skip Gemma-3's minutes-long first conversion; `make run` exercises both models."""
    text = (ROOT / "params.yaml").read_text()
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("models: [smollm2-135m, gemma3-270m]"))
    return text.replace(line, "    models: [smollm2-135m]")


@pytest.fixture(scope="session")
def probed_template(tmp_path_factory) -> Path:
    """A mini project where extract and probes have run once on the embedded model (the slow start
    that every end-to-end test shares); tests work on copies of it (see probed_project)."""
    root = tmp_path_factory.mktemp("probed")
    with mini_project(root) as data:
        args = ["--set", f"data.dataset={data}", "--set", "probes.n_bootstrap=50"]
        assert [main(["extract", *args]), main(["probes", *args])] == [0, 0]
    return root


@contextmanager
def probed_project(template: Path, root: Path) -> Iterator[Path]:
    """A copy of the probed template at `root`, worked inside; yields its mini dataset's path (same
    content, so the copied activation cache is the one its key names)."""
    shutil.copytree(template, root, symlinks=True, dirs_exist_ok=True)
    with _inside(root):
        yield root / "mini.json"


def killer(written: list[str], when: Callable[[str], bool] = lambda unit: True) -> Callable[[str], None]:
    """A run_phase `on_unit` that records each unit written and raises RuntimeError("killed") after the first
    one `when` accepts: a kill between two work units."""
    def on_unit(unit: str) -> None:
        written.append(unit)
        if when(unit):
            raise RuntimeError("killed")
    return on_unit
