"""Pilot tests of the real app over the fixture store, with fake phase commands (no model, no dvc)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Log, ProgressBar

from app import make_app
from app.screens.findings import FindingsScreen
from app.screens.pipeline import PipelineScreen
from app.screens.plots import PlotsScreen
from app.screens.results import ResultsScreen
from app.screens.review import ReviewScreen
from app.screens.transcripts import TranscriptsScreen
from tests.app.conftest import fixture_review_source

SIZE = (120, 40)
FAKE = [sys.executable, "-c",
        "import sys; print('a'); sys.stderr.write('\\rx: 50%|#| 1/2'); print(); print('b')"]
SLEEP = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]


async def settle(pilot: Pilot) -> None:
    """Wait for workers (queries, runs) and the messages they posted, instead of sleeping."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.asyncio
async def test_every_screen_has_its_key(repo: Path) -> None:
    app = make_app(root=repo, gpu_probe=(), review_source=fixture_review_source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FindingsScreen)  # the landing view
        for key, screen in (("p", PipelineScreen), ("r", ResultsScreen), ("h", ReviewScreen),
                            ("t", TranscriptsScreen), ("l", PlotsScreen), ("f", FindingsScreen),
                            ("p", PipelineScreen)):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, screen), key


@pytest.mark.asyncio
async def test_results_pages_and_filter(repo: Path) -> None:
    app = make_app(root=repo, mode="results")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ResultsScreen)
        assert screen.current_table == "extract_summary"  # the first table opens by itself
        await pilot.press("down", "down", "enter")  # extract_summary -> probes -> probes_auroc
        await settle(pilot)
        grid = screen.query_one("#grid", DataTable)
        assert screen.current_table == "probes_auroc" and screen.row_total == 252
        assert grid.row_count == 100
        await pilot.press("n", "n")
        await settle(pilot)
        assert (screen.row_offset, grid.row_count) == (200, 52)
        await pilot.press("n")  # past the last page: stays
        await settle(pilot)
        assert screen.row_offset == 200
        await pilot.press("b")
        await settle(pilot)
        assert (screen.row_offset, grid.row_count) == (100, 100)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        # Typing "r" or "e" into the box must not switch screens or export.
        await pilot.press(*"layer>39", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ResultsScreen) and not (repo / "outputs/exports").exists()
        assert (screen.current_where, screen.row_total, grid.row_count) == ("layer>39", 12, 12)
        # A rejected filter leaves the current page as it was.
        screen.query_one("#filter", Input).value = "1=1; drop view runs"
        await pilot.press("slash", "enter")
        await settle(pilot)
        assert (screen.current_where, grid.row_count) == ("layer>39", 12)


@pytest.mark.asyncio
async def test_export_current_view(repo: Path) -> None:
    app = make_app(root=repo, mode="results")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
    exports = list((repo / "outputs/exports").glob("extract_summary-*.csv"))
    assert len(exports) == 1 and exports[0].read_text().splitlines()[0] == "run_id,model,n_texts,tokens"


@pytest.mark.asyncio
async def test_run_streams_lines_into_the_log(repo: Path) -> None:
    calls = []
    app = make_app(root=repo, mode="pipeline", gpu_probe=(),
                   argv_for=lambda phase, profile: calls.append((phase, profile)) or FAKE)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "x")  # the second phase: probes
        await settle(pilot)
        screen = app.screen
        assert calls == [("probes", "smoke")]
        log = list(screen.query_one("#log", Log).lines)
        assert log[1:3] == ["a", "b"] and log[0].startswith("$ ") and "exit 0" in log[-1]
        assert screen.query_one("#progress", ProgressBar).progress == 100
        assert screen.running is None


@pytest.mark.asyncio
async def test_cancel_a_running_phase(repo: Path) -> None:
    app = make_app(root=repo, mode="pipeline", gpu_probe=(), argv_for=lambda phase, profile: SLEEP)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("x")
        screen = app.screen
        for _ in range(100):  # until the child has printed (the worker is still running)
            await pilot.pause(0.02)
            if "up" in screen.query_one("#log", Log).lines:
                break
        await pilot.press("x")  # a second run is refused while one is in flight
        await pilot.press("c")
        await settle(pilot)
        assert screen.last_state == {"extract": "cancelled"}
        assert not screen.runner.running
        assert sum(line.startswith("$ ") for line in screen.query_one("#log", Log).lines) == 1


@pytest.mark.asyncio
async def test_profile_switch_changes_badges(repo: Path) -> None:
    app = make_app(root=repo, mode="pipeline", gpu_probe=())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")  # smoke -> paper
        screen = app.screen
        assert screen.profile == "paper"
        assert "GPU" in str(screen.query("PhaseItem").first().label.render())


@pytest.mark.asyncio
async def test_gpu_badge_from_the_probe_and_the_runner_kept_by_its_handler(repo: Path) -> None:
    probe = (sys.executable, "-c", "print('NVIDIA H200, 143771 MiB')")
    app = make_app(root=repo, mode="pipeline", gpu_probe=probe, argv_for=lambda phase, profile: FAKE)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert screen.device == "NVIDIA H200, 143771 MiB"
        assert "NVIDIA H200, 143771 MiB" in str(screen.query_one("#profile").render())
        await pilot.press("x")
        await settle(pilot)
        assert screen.runner is not None and screen.runner.argv == FAKE and not screen.runner.running


@pytest.mark.asyncio
async def test_no_gpu_visible_when_the_probe_fails(repo: Path) -> None:
    app = make_app(root=repo, mode="pipeline", gpu_probe=(sys.executable, "-c", "raise SystemExit(9)"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.device == "" and "no GPU visible" in str(app.screen.query_one("#profile").render())
