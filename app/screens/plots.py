"""Plots screen: the figures people look at, for every model present (DESIGN §6).

1 AUROC by layer (with the random-direction 95th percentile and the best surface baseline),
2 null histogram with the observed AUROC, 3 dose-response by alpha with its CI per scorer,
4 patching / mediation effect by layer, 5 layer x model heatmap of test AUROC. `n`/`N` page within a plot.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual_plotext import PlotextPlot

from app.catalog import Catalog
from app.messages import PlotsLoaded
from app.reads import PlotData, load_plots
from app.widgets.charts import DRAW, PLOTS, heatmap


class PlotsScreen(Screen[None]):
    """One plot at a time, chosen with 1-5."""

    BINDINGS = [
        *(Binding(str(i + 1), f"show({i})", name, show=False) for i, name in enumerate(PLOTS)),
        Binding("n", "page(1)", "Next page"),
        Binding("N", "page(-1)", "Prev page", show=False),
        Binding("g", "reload", "Reload"),
    ]

    def __init__(self, catalog: Catalog) -> None:
        super().__init__()
        self.catalog = catalog
        self.data: PlotData | None = None
        self.kind = 0
        self.page = 0
        self.pages = 1

    def compose(self) -> ComposeResult:
        """Caption, the plotext canvas, and the heatmap (shown instead of the canvas for plot 5)."""
        yield Header()
        yield Static("loading…", id="plot-caption")
        yield PlotextPlot(id="chart")
        yield Static(id="heatmap")
        yield Footer()

    def on_mount(self) -> None:
        """Read every series once."""
        self.action_reload()

    def action_reload(self) -> None:
        """Re-read the series (after a phase has run)."""
        self.load()

    @work(thread=True, exclusive=True, group="plots", exit_on_error=False)
    def load(self) -> None:
        """All plot queries, off the UI thread."""
        self.catalog.ensure_scanned()
        self.post_message(PlotsLoaded(load_plots(self.catalog)))

    def on_plots_loaded(self, message: PlotsLoaded) -> None:
        """Draw the current plot from the new data."""
        self.data = message.data
        self.draw()

    def action_show(self, kind: int) -> None:
        """Switch to plot `kind` (0-4), first page."""
        self.kind, self.page = kind, 0
        self.draw()

    def action_page(self, step: int) -> None:
        """Next (1) or previous (-1) page of the current plot."""
        self.page = (self.page + step) % self.pages
        self.draw()

    def draw(self) -> None:
        """Redraw the canvas (or the heatmap) and the caption."""
        if self.data is None:
            return
        chart = self.query_one("#chart", PlotextPlot)
        box = self.query_one("#heatmap", Static)
        is_heatmap = self.kind == len(DRAW)
        chart.display, box.display = not is_heatmap, is_heatmap
        if is_heatmap:
            self.pages = 1
            box.update(heatmap(self.data.heatmap))
        else:
            self.pages = DRAW[self.kind](chart.plt, self.data, self.page)
            chart.refresh()
        keys = "  ".join(f"[b]{i + 1}[/] {name}" if i == self.kind else f"{i + 1} {name}"
                         for i, name in enumerate(PLOTS))
        self.query_one("#plot-caption", Static).update(
            f"{keys}   [dim]page {self.page + 1}/{self.pages} (n)[/]")
