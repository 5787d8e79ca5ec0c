"""SVG snapshots of every screen at 120x40 over the fixture study (pytest-textual-snapshot).

Regenerate with `pytest tests/app/test_tui_snapshot.py --snapshot-update` on Python 3.11 only (conftest
refuses others). The fixtures are fixed data, the GPU probe is off and no screen shows a clock or a
temporary path, so a snapshot changes only when what a person would see changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

from app import make_app
from tests.app.conftest import fixture_review_source

SIZE = (120, 40)


async def settle(pilot: Pilot) -> None:
    """Wait until the workers' messages have been handled."""
    for _ in range(2):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def keys(*pressed: str) -> Callable[[Pilot], Awaitable[None]]:
    """A run_before that settles, presses `pressed` one by one (settling after each)."""
    async def run(pilot: Pilot) -> None:
        await settle(pilot)
        for key in pressed:
            await pilot.press(key)
            await settle(pilot)
    return run


def _app(root: Path, mode: str):  # noqa: ANN202 - EmpathyApp
    return make_app(root=root, mode=mode, gpu_probe=(), review_source=fixture_review_source)


def test_findings_snapshot(study: Path, snap_compare) -> None:  # noqa: ANN001 - pytest fixture
    assert snap_compare(_app(study, "findings"), terminal_size=SIZE, run_before=keys("down"))


def test_pipeline_snapshot(study: Path, snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(_app(study, "pipeline"), terminal_size=SIZE, run_before=keys())


def test_results_screen_snapshot(repo: Path, snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(_app(repo, "results"), terminal_size=SIZE, run_before=keys("down", "down", "enter"))


def test_review_snapshot(study: Path, snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(_app(study, "review"), terminal_size=SIZE, run_before=keys("a", "B", "4"))


def test_transcripts_snapshot(study: Path, snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(_app(study, "transcripts"), terminal_size=SIZE, run_before=keys())


def test_plot_auroc_snapshot(study: Path, snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(_app(study, "plots"), terminal_size=SIZE, run_before=keys())


def test_plot_null_snapshot(study: Path, snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(_app(study, "plots"), terminal_size=SIZE, run_before=keys("2"))


def test_plot_dose_snapshot(study: Path, snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(_app(study, "plots"), terminal_size=SIZE, run_before=keys("3"))


def test_plot_causal_snapshot(study: Path, snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(_app(study, "plots"), terminal_size=SIZE, run_before=keys("4"))


def test_plot_heatmap_snapshot(study: Path, snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(_app(study, "plots"), terminal_size=SIZE, run_before=keys("5"))


def test_provenance_snapshot(study: Path, snap_compare) -> None:  # noqa: ANN001
    assert snap_compare(_app(study, "results"), terminal_size=SIZE, run_before=keys("v"))
