"""What the app needs to know at start-up (no Textual): where things are, and how to launch a phase."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.runner import phase_argv

ArgvFor = Callable[[str, str], list[str]]


@dataclass(frozen=True)
class AppConfig:
    """Paths and launch policy shared by the screens.

    `argv_for(phase, profile)` builds the command a run launches; tests swap in a fake command so
    no phase (and no model) ever runs in the app's test suite.
    """

    root: Path
    outputs: Path
    profile: str = "smoke"
    argv_for: ArgvFor = field(default=phase_argv)

    @property
    def exports(self) -> Path:
        """Where `e` writes CSV files (inside outputs/, the only folder the catalog may touch)."""
        return self.outputs / "exports"
