"""Results screen: table tree, paged DataTable, WHERE filter, CSV export, AUROC plot, provenance.

The disk scan and the queries run in thread workers against the in-memory catalog and post
CatalogRefreshed / PageLoaded / QueryFailed / Exported back; handlers only update widgets.
"""

from __future__ import annotations

from datetime import datetime

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static, Tree

from app.catalog import PAGE_SIZE, Catalog, FilterError, format_cell
from app.config import AppConfig
from app.messages import CatalogRefreshed, Exported, PageLoaded, QueryFailed, TablePicked
from app.screens.provenance import ProvenanceScreen
from app.widgets.auroc_plot import AurocPlot


class ResultsScreen(Screen[None]):
    """Browse every table under outputs/ through DuckDB views over its Parquet parts."""

    BINDINGS = [
        Binding("n", "page(1)", "Next page"),
        Binding("b", "page(-1)", "Prev page"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("e", "export", "Export CSV"),
        Binding("g", "reload", "Reload"),
        Binding("v", "provenance", "Provenance"),
        Binding("escape", "focus_grid", "Leave filter", show=False),
    ]

    def __init__(self, config: AppConfig, catalog: Catalog) -> None:
        super().__init__()
        self.config = config
        self.catalog = catalog
        self.current_table: str | None = None
        self.current_where: str | None = None
        self.row_offset = 0
        self.row_total = 0
        self._shown: list[str] = []
        self._page: PageLoaded | None = None
        self._pending: tuple[str, str | None] | None = None  # a table asked for before the first scan

    def compose(self) -> ComposeResult:
        """Table tree on the left; filter, page info, data and plot on the right."""
        yield Header()
        with Horizontal(id="results"):
            yield Tree("outputs", id="tables")
            with Vertical(id="table-pane"):
                yield Input(placeholder="WHERE filter, e.g. split = 'test' AND layer > 10  (Enter)",
                            id="filter")
                yield Static("No table selected.", id="page-info")
                yield DataTable(zebra_stripes=True, cursor_type="row", id="grid")
                yield AurocPlot(id="plot")
        yield Footer()

    def on_mount(self) -> None:
        """Scan outputs/ off the UI thread; the tree follows in on_catalog_refreshed."""
        self.rescan()

    @work(thread=True, exclusive=True, group="scan", exit_on_error=False)
    def rescan(self) -> None:
        """Re-glob outputs/ and recreate the views."""
        self.post_message(CatalogRefreshed(self.catalog.refresh()))

    def on_catalog_refreshed(self, message: CatalogRefreshed) -> None:
        """Rebuild the tree if the tables changed; reopen the current (or the asked-for) table."""
        if message.tables != self._shown or not self.query_one("#tables", Tree).root.children:
            self.build_tree()
        if self._pending:
            table, where = self._pending
            self._pending = None
            self.open_table(table, where)
        elif self.current_table in self._shown:
            self.fetch(self.current_table, self.current_where, self.row_offset)

    def open_table(self, table: str, where: str | None = None) -> None:
        """Show `table` filtered by `where` (a Findings row opens its table this way)."""
        if not self.catalog.scanned or not self.query("#filter"):  # not scanned or not composed yet:
            self._pending = (table, where)  # on_catalog_refreshed opens it
            return
        self.query_one("#filter", Input).value = where or ""
        self.fetch(table, where, 0)

    def build_tree(self) -> None:
        """One node per phase (tables written by several phases, e.g. `runs`, go under `shared`)."""
        tree = self.query_one("#tables", Tree)
        tree.clear()
        tree.root.expand()
        self._shown = self.catalog.tables()
        groups: dict[str, list[str]] = {}
        for table in self._shown:
            phases = self.catalog.phases_of(table)
            groups.setdefault(phases[0] if len(phases) == 1 else "shared", []).append(table)
        first = None
        for group in sorted(groups, key=lambda g: (g == "shared", g)):
            node = tree.root.add(group, expand=True)
            for table in groups[group]:
                leaf = node.add_leaf(table, data=table)
                first = first or leaf
        if first is None:
            self.query_one("#page-info", Static).update(
                "No tables yet: run a phase on the Pipeline screen (p).")
        elif self.current_table not in self._shown and not self._pending:
            # Node lines exist only after the tree has rendered once.
            tree.call_after_refresh(tree.move_cursor, first)
            self.post_message(TablePicked(str(first.data)))

    @on(Tree.NodeSelected, "#tables")
    def _node_selected(self, event: Tree.NodeSelected[str]) -> None:
        if event.node.data:
            self.post_message(TablePicked(event.node.data))

    def on_table_picked(self, message: TablePicked) -> None:
        """Open a table unfiltered (a filter rarely makes sense for another table's columns)."""
        self.query_one("#filter", Input).value = ""
        self.fetch(message.table, None, 0)

    @on(Input.Submitted, "#filter")
    def _filter(self, event: Input.Submitted) -> None:
        if self.current_table:
            self.fetch(self.current_table, event.value.strip() or None, 0)
            self.query_one("#grid", DataTable).focus()

    def action_page(self, step: int) -> None:
        """Move one page forward (1) or back (-1) within the filtered rows."""
        offset = self.row_offset + step * PAGE_SIZE
        if self.current_table and 0 <= offset < self.row_total:
            self.fetch(self.current_table, self.current_where, offset)

    def action_focus_filter(self) -> None:
        """Put the cursor in the WHERE box."""
        self.query_one("#filter", Input).focus()

    def action_focus_grid(self) -> None:
        """Back from the WHERE box to the rows."""
        self.query_one("#grid", DataTable).focus()

    def action_reload(self) -> None:
        """Re-glob outputs/ (a phase may have published new tables) and reload the page."""
        self.rescan()

    def on_screen_resume(self) -> None:
        """Coming back from the Pipeline screen: pick up what a run has written."""
        if self.is_mounted and self._shown:
            self.action_reload()

    @work(thread=True, exclusive=True, group="query", exit_on_error=False)
    def fetch(self, table: str, where: str | None, offset: int) -> None:
        """Count and fetch one page (off the UI thread)."""
        try:
            total = self.catalog.count(table, where)
            columns, rows = self.catalog.page(table, where, PAGE_SIZE, offset)
            series = self.catalog.auroc_by_layer("test") if table == "probes_auroc" else None
        except (FilterError, KeyError) as exc:
            self.post_message(QueryFailed(str(exc)))
            return
        self.post_message(PageLoaded(table, where, offset, total, columns, rows, series))

    def on_page_loaded(self, message: PageLoaded) -> None:
        """Fill the DataTable with the page; show the plot for probes_auroc."""
        self.current_table, self.current_where, self.row_offset, self.row_total = (
            message.table, message.where, message.offset, message.total)
        self._page = message
        grid = self.query_one("#grid", DataTable)
        grid.clear(columns=True)
        grid.add_columns(*message.columns)
        grid.add_rows([format_cell(v) for v in row] for row in message.rows)
        last = message.offset + len(message.rows)
        pages = max(1, -(-message.total // PAGE_SIZE))
        shown = f"rows {message.offset + 1}–{last}" if message.rows else "no rows"
        where = f"  [dim]WHERE {message.where}[/]" if message.where else ""
        self.query_one("#page-info", Static).update(
            f"[b]{message.table}[/]  {shown} of {message.total}  "
            f"page {message.offset // PAGE_SIZE + 1}/{pages}{where}")
        plot = self.query_one("#plot", AurocPlot)
        plot.display = bool(message.series)
        if message.series:
            plot.show_series(message.series)

    def action_provenance(self) -> None:
        """The run behind the highlighted row (its `run_id`)."""
        page, grid = self._page, self.query_one("#grid", DataTable)
        if page is None or "run_id" not in page.columns or not page.rows:
            self.notify("this table has no run_id column", severity="warning")
            return
        row = page.rows[min(grid.cursor_row, len(page.rows) - 1)]
        self.app.push_screen(ProvenanceScreen(self.catalog, str(row[page.columns.index("run_id")])))

    def on_query_failed(self, message: QueryFailed) -> None:
        """Keep the last good page; say what was wrong."""
        self.notify(message.error, title="Query failed", severity="error")

    def action_export(self) -> None:
        """Export every row of the current (filtered) table to outputs/exports/."""
        if self.current_table:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            self.export(self.current_table, self.current_where, f"{self.current_table}-{stamp}.csv")

    @work(thread=True, group="export", exit_on_error=False)
    def export(self, table: str, where: str | None, name: str) -> None:
        """Write the CSV off the UI thread."""
        try:
            path = self.catalog.export_csv(table, where, self.config.exports / name)
            self.post_message(Exported(str(path), self.catalog.count(table, where)))
        except (FilterError, KeyError, OSError) as exc:
            self.post_message(QueryFailed(str(exc)))

    def on_exported(self, message: Exported) -> None:
        """Say where the file went."""
        self.notify(f"{message.rows} rows -> {message.path}", title="Exported")
