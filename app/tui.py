"""EmpathyApp: two modes (Pipeline, Results), global bindings, one stylesheet.

The App only wires screens together; each screen owns its widgets and handlers (harlequin's
lesson: an App class that handles everything grows to 1,400 lines).
"""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from app.catalog import Catalog
from app.config import AppConfig
from app.screens.pipeline import PipelineScreen
from app.screens.results import ResultsScreen


class EmpathyApp(App[None]):
    """The TUI: launch phases on the Pipeline screen, browse their tables on the Results screen."""

    CSS_PATH = "app.tcss"
    TITLE = "Empathy-in-Action probes"
    BINDINGS = [
        Binding("p", "switch_mode('pipeline')", "Pipeline"),
        Binding("r", "switch_mode('results')", "Results"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, config: AppConfig, mode: str = "pipeline") -> None:
        super().__init__()
        self.config = config
        self.catalog = Catalog(config.outputs)
        self.start_mode = mode
        self.add_mode("pipeline", lambda: PipelineScreen(config))
        self.add_mode("results", lambda: ResultsScreen(config, self.catalog))

    def on_mount(self) -> None:
        """Open the start mode."""
        self.sub_title = f"profile: {self.config.profile}"
        self.switch_mode(self.start_mode)

    def on_unmount(self) -> None:
        """Close the in-memory catalog connection."""
        self.catalog.close()
