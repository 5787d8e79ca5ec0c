"""EmpathyApp: the study's workbench in six modes, global bindings, one stylesheet.

Findings (the landing view), Pipeline, Results, Review, Transcripts, Plots. The App only wires screens
together; each screen owns its widgets and handlers (harlequin's lesson: an App class that handles
everything grows to 1,400 lines).
"""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from app.catalog import Catalog
from app.config import AppConfig
from app.screens.findings import FindingsScreen
from app.screens.pipeline import PipelineScreen
from app.screens.plots import PlotsScreen
from app.screens.results import ResultsScreen
from app.screens.review import ReviewScreen
from app.screens.transcripts import TranscriptsScreen


class EmpathyApp(App[None]):
    """The TUI: read the findings, launch phases, browse tables, review pairs, read transcripts, plot."""

    CSS_PATH = "app.tcss"
    TITLE = "Empathy-in-Action probes"
    BINDINGS = [
        Binding("f", "switch_mode('findings')", "Findings"),
        Binding("p", "switch_mode('pipeline')", "Pipeline"),
        Binding("r", "switch_mode('results')", "Results"),
        Binding("h", "switch_mode('review')", "Review"),
        Binding("t", "switch_mode('transcripts')", "Transcripts"),
        Binding("l", "switch_mode('plots')", "Plots"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, config: AppConfig, mode: str = "findings") -> None:
        super().__init__()
        self.config = config
        # scan=False: the first screen's worker walks outputs/, never the UI thread.
        self.catalog = Catalog(config.outputs, scan=False)
        self.start_mode = mode
        self.add_mode("findings", lambda: FindingsScreen(config, self.catalog))
        self.add_mode("pipeline", lambda: PipelineScreen(config))
        self.add_mode("results", lambda: ResultsScreen(config, self.catalog))
        self.add_mode("review", lambda: ReviewScreen(config.root, config.outputs, config.profile,
                                                     config.review_source))
        self.add_mode("transcripts", lambda: TranscriptsScreen(self.catalog))
        self.add_mode("plots", lambda: PlotsScreen(self.catalog))

    def on_mount(self) -> None:
        """Open the start mode."""
        self.sub_title = f"profile: {self.config.profile}"
        self.switch_mode(self.start_mode)

    def open_table(self, table: str, where: str | None = None) -> None:
        """Show `table` (filtered) on the Results screen: what a Findings row opens."""
        self.switch_mode("results")
        screen = self.screen
        if isinstance(screen, ResultsScreen):
            screen.open_table(table, where)

    def on_unmount(self) -> None:
        """Close the in-memory catalog connection."""
        self.catalog.close()
