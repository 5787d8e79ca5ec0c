"""Pilot tests of the workbench screens over the fixture study: review, transcripts, plots, provenance."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from textual.widgets import DataTable, Static

from app import make_app
from app.screens.provenance import ProvenanceScreen
from app.screens.review import ReviewScreen
from app.screens.transcripts import TranscriptsScreen
from tests.app.conftest import ALPHAS, fixture_review_source
from tests.app.test_tui_pilot import SIZE, settle


def text_of(screen, selector: str) -> str:  # noqa: ANN001 - any screen
    """The plain text a Static shows."""
    return str(screen.query_one(selector, Static).render())


def workbench(root: Path, mode: str):  # noqa: ANN201 - EmpathyApp
    return make_app(root=root, mode=mode, gpu_probe=(), review_source=fixture_review_source)


@pytest.mark.asyncio
async def test_review_keys_rate_save_resume_and_import(study: Path) -> None:
    app = workbench(study, "review")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        assert "1 / 20" in text_of(screen, "#review-progress")
        assert "Situation of fam" in text_of(screen, "#situation")
        await pilot.press("a", "B", "4")  # A ok, B not ok, realism 4
        row = screen.session.row(0)
        assert (row["label_ok_a"], row["label_ok_b"], row["realism"]) == ("yes", "no", "4")
        assert "not ok" in text_of(screen, "#label-b") and "1 rated" in text_of(screen, "#review-progress")
        await pilot.press("e", *"too neat", "enter")
        assert screen.session.row(0)["note"] == "too neat"
        await pilot.press("right")
        assert "2 / 20" in text_of(screen, "#review-progress")
        await pilot.press("i")  # 19 unrated: refused
        await settle(pilot)
        assert not (study / "outputs/validate/_review/validate_review").exists()
        for _ in range(6):
            await pilot.press("a", "b", "3", "right")
        assert "7 rated" in text_of(screen, "#review-progress")
    # Quit and come back: the sheet on disk resumes at the first unrated pair.
    app = workbench(study, "review")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert "8 / 20" in text_of(screen, "#review-progress")
        assert screen.session.row(0)["note"] == "too neat"
        for _ in range(13):
            await pilot.press("a", "b", "5", "right")
        assert "all rated" in text_of(screen, "#review-progress")
        await pilot.press("i")
        await settle(pilot)
        agreement = text_of(screen, "#agreement")
        assert "label_agreement" in agreement and "0.975" in agreement  # 39 of 40 texts confirmed
    stored = pd.read_parquet(study / "outputs/validate/_review/validate_review")
    assert len(stored) == 20 and stored.note.tolist().count("too neat") == 1


@pytest.mark.asyncio
async def test_review_of_a_missing_dataset_says_why(repo: Path) -> None:
    def broken(root: Path, profile: str):  # noqa: ANN202
        raise FileNotFoundError("data/dataset_expanded.json")

    app = make_app(root=repo, mode="review", gpu_probe=(), review_source=broken)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "dataset_expanded.json" in text_of(app.screen, "#review-progress")
        await pilot.press("a", "right", "i")  # no session: keys do nothing, nothing crashes
        assert app.screen.session is None


@pytest.mark.asyncio
async def test_transcripts_step_through_prompts_and_samples(study: Path) -> None:
    app = workbench(study, "transcripts")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TranscriptsScreen)
        cards = [str(c.render()) for c in screen.query(".card")]
        assert len(cards) == len(ALPHAS) and "α = -5" in cards[0] and "α = +5" in cards[-1]
        assert "classifier 0.400" in cards[0] and "ppl 4.50" in cards[0]
        assert "degenerate" not in cards[-1]
        line = text_of(screen, "#prompt-line")
        assert "prompt 1 / 2" in line and "duel_01" in line and "sample 1 / 2" in line
        await pilot.press("s")
        await settle(pilot)
        assert "sample 2 / 2" in text_of(screen, "#prompt-line")
        assert "degenerate" in str(list(screen.query(".card"))[-1].render())  # alpha +5, sample 1
        await pilot.press("right")
        await settle(pilot)
        line = text_of(screen, "#prompt-line")
        assert "prompt 2 / 2" in line and "free_01" in line and "task-free" in line and "sample 1 / 2" in line
        await pilot.press("right")  # wraps to the first prompt
        await settle(pilot)
        assert "duel_01" in text_of(screen, "#prompt-line")
        await pilot.press("left")
        await settle(pilot)
        assert "free_01" in text_of(screen, "#prompt-line")
        assert not screen.query_one("#cards").has_class("stacked")
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, ProvenanceScreen) and app.screen.run_id == "r-steer"


@pytest.mark.asyncio
async def test_transcripts_stack_on_a_narrow_terminal(study: Path) -> None:
    app = workbench(study, "transcripts")
    async with app.run_test(size=(80, 40)) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#cards").has_class("stacked")


@pytest.mark.asyncio
async def test_transcripts_without_steering_say_so(repo: Path) -> None:
    app = workbench(repo, "transcripts")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "No steering generations yet" in text_of(app.screen, "#prompt-line")
        await pilot.press("right", "s", "v")
        assert isinstance(app.screen, TranscriptsScreen)


@pytest.mark.asyncio
async def test_provenance_of_a_results_row(study: Path) -> None:
    app = workbench(study, "results")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.current_table == "baselines_null_samples"  # the first table opens by itself
        await pilot.press("v")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ProvenanceScreen) and modal.run_id == "r-base"
        fields = dict(modal.fields)
        assert fields["git_sha"].startswith("0123456789ab") and fields["model_revision"] == "rev-42"
        assert fields["  torch"] == "2.13.0+cpu" and fields["seed"] == "1234" and fields["wall_s"] == "3.0"
        assert "eb5a0dac840bf93e" in text_of(modal, "#provenance-body")
        await pilot.press("escape")
        assert not isinstance(app.screen, ProvenanceScreen)


@pytest.mark.asyncio
async def test_provenance_of_an_unknown_run_and_a_table_without_runs(study: Path) -> None:
    app = workbench(study, "results")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(ProvenanceScreen(app.catalog, "no-such-run"))
        await settle(pilot)
        assert "No run no-such-run" in text_of(app.screen, "#provenance-body")
        await pilot.press("escape")
        screen = app.screen
        screen.open_table("probes_surface", "baseline = 'bow'")
        await settle(pilot)
        assert screen.query_one("#grid", DataTable).row_count == 1
        await pilot.press("v")  # probes_surface rows carry run_id r-probes
        await settle(pilot)
        assert app.screen.run_id == "r-probes"
