"""What the app needs to know at start-up (no Textual): where things are, and how to launch a phase."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.review_session import ReviewSourceFor, params_review_source
from app.runner import phase_argv

ArgvFor = Callable[[str, str], list[str]]
# The screens, in the order of their keys (f p r h t l); the first is the landing view.
MODES = ("findings", "pipeline", "results", "review", "transcripts", "plots")


@dataclass(frozen=True)
class AppConfig:
    """Paths and launch policy shared by the screens.

    `argv_for(phase, profile)` builds the command a run launches; tests swap in a fake command so
    no phase (and no model) ever runs in the app's test suite. `review_source(root, profile)` gives the
    pairs the review samples from (default: the dataset named in params.yaml); tests pass fixture pairs.
    `gpu_probe` is the command whose output names the visible accelerator (empty list: never probe).
    """

    root: Path
    outputs: Path
    profile: str = "smoke"
    argv_for: ArgvFor = field(default=phase_argv)
    review_source: ReviewSourceFor = field(default=params_review_source)
    gpu_probe: tuple[str, ...] = ("nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader")

    @property
    def exports(self) -> Path:
        """Where `e` writes CSV files (inside outputs/, the only folder the catalog may touch)."""
        return self.outputs / "exports"
