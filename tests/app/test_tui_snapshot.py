"""One SVG snapshot of the Results screen over the fixture store (probes_auroc with its plot)."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from app import make_app


def test_results_screen_snapshot(repo: Path, snap_compare) -> None:  # noqa: ANN001 - pytest fixture
    async def open_probes_auroc(pilot: Pilot) -> None:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    app = make_app(root=repo, mode="results")
    assert snap_compare(app, terminal_size=(120, 40), run_before=open_probes_auroc)
