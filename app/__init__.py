"""The Textual TUI: launches phases as subprocesses and browses result tables (DESIGN §6, P3).

`make_app` is the one factory used by `python -m app` and by the tests (P10). Textual is imported
only when it is called, so the headless modules (catalog, runner, pipeline_state) import without it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.config import AppConfig, ArgvFor
from app.review_session import ReviewSourceFor

if TYPE_CHECKING:
    from app.tui import EmpathyApp

__all__ = ["AppConfig", "make_app"]


def make_app(
    outputs: Path | str | None = None,
    *,
    root: Path | str | None = None,
    profile: str = "smoke",
    mode: str = "findings",
    argv_for: ArgvFor | None = None,
    review_source: ReviewSourceFor | None = None,
    gpu_probe: tuple[str, ...] | None = None,
) -> EmpathyApp:
    """Build the app over `outputs` (default <root>/outputs), starting in `mode` (one of app.config.MODES).

    `root` is where phases run (the repository, holding dvc.yaml and params.yaml); default: cwd.
    Tests replace `argv_for`, `review_source` and `gpu_probe` (see AppConfig) with fixtures.
    """
    from app.runner import phase_argv
    from app.tui import EmpathyApp

    base = Path(root).resolve() if root else Path.cwd()
    config = AppConfig(
        root=base,
        outputs=Path(outputs).resolve() if outputs else base / "outputs",
        profile=profile,
        argv_for=argv_for or phase_argv,
    )
    if review_source is not None:
        config = replace(config, review_source=review_source)
    if gpu_probe is not None:
        config = replace(config, gpu_probe=gpu_probe)
    return EmpathyApp(config, mode=mode)
