"""Pilot tests of the Findings screen: claims.yaml checked by core.claims against the fixture study, each
row opening the table behind it, filtered."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

from app import make_app
from app.screens.findings import FindingsScreen
from app.screens.results import ResultsScreen
from tests.app.test_tui_pilot import SIZE, settle


@pytest.mark.asyncio
async def test_findings_rows_and_enter_opens_the_filtered_table(study: Path) -> None:
    app = make_app(root=study, gpu_probe=())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        grid = screen.query_one("#claims", DataTable)
        assert grid.row_count == 4
        assert [r.id for r in screen.results] == ["logistic_auroc", "mean_diff_layer", "words_alone", "leace"]
        assert [r.ok for r in screen.results] == [True, False, True, False]  # layer 20, not 18; no probes_erased
        assert grid.get_row_at(0)[2] == "0.942 [0.91, 0.97]"
        title = str(screen.query_one("#findings-title", Static).render())
        assert "2 of 4 claims reproduce" in title
        detail = str(screen.query_one("#claim-detail", Static).render())
        assert "Test AUROC 0.942 [0.910, 0.970]" in detail and "\"method\" = 'logistic'" in detail
        await pilot.press("down")
        assert "does not reproduce the published 18" in str(screen.query_one("#claim-detail", Static).render())
        await pilot.press("down", "enter")  # words_alone -> probes_surface WHERE split/baseline
        await settle(pilot)
        results = app.screen
        assert isinstance(results, ResultsScreen) and results.current_table == "probes_surface"
        assert results.current_where == "\"split\" = 'test' AND \"baseline\" = 'bow'"
        assert results.row_total == 1 and results.query_one("#filter", Input).value == results.current_where
        await pilot.press("f", "down", "down", "down", "enter")  # leace: its table is not there
        await settle(pilot)
        assert isinstance(app.screen, FindingsScreen)


@pytest.mark.asyncio
async def test_findings_before_any_run_say_what_to_do(repo: Path) -> None:
    app = make_app(root=repo, gpu_probe=())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        title = str(app.screen.query_one("#findings-title", Static).render())
        assert "No findings yet" in title and "make run" in title
        await pilot.press("enter", "g")
        await settle(pilot)
        assert app.screen.results == []


@pytest.mark.asyncio
async def test_the_real_claims_file_drives_the_screen(study: Path) -> None:
    # The repository's claims.yaml over the fixture store: every claim gets a row, reproduced or not.
    real = Path(__file__).resolve().parents[2] / "claims.yaml"
    (study / "claims.yaml").write_text(real.read_text())
    app = make_app(root=study, gpu_probe=())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        from core.claims import load_claims

        assert [r.id for r in app.screen.results] == [c.id for c in load_claims(real)]
