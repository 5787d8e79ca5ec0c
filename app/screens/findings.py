"""Findings screen, the landing view: every claim of the README (claims.yaml) as a row, checked against
outputs/results.duckdb by core.claims.evaluate_claims, the same check as `python -m analyses claims`.

A row shows the question, the reproduced number with its CI, whether it matches the published one, and
the table it comes from; Enter opens that table on the Results screen, filtered to the claim's rows.
The app holds no list of claims of its own: claims.yaml is the only one.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from app.catalog import Catalog, format_cell
from app.config import AppConfig
from app.messages import FindingsLoaded
from core import views
from core.claims import ClaimResult, evaluate_claims, load_claims


def _number(value: Any) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else f"{float(value):.3f}".rstrip("0").rstrip(".")


def reproduced(result: ClaimResult) -> str:
    """The reproduced value with its CI, as a cell."""
    ci = f" [{_number(result.ci_low)}, {_number(result.ci_high)}]" if result.ci_low is not None else ""
    return _number(result.reproduced) + ci


class FindingsScreen(Screen[None]):
    """The study's headline claims, each with its number, CI, verdict and source table."""

    BINDINGS = [
        Binding("enter", "open", "Open table", show=True),
        Binding("g", "reload", "Reload"),
    ]

    def __init__(self, config: AppConfig, catalog: Catalog) -> None:
        super().__init__()
        self.config = config
        self.catalog = catalog
        self.results: list[ClaimResult] = []
        self.wheres: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        """A title line, the claims table, the selected claim in full."""
        yield Header()
        yield Static("checking the claims…", id="findings-title")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="claims")
        yield Static(id="claim-detail")
        yield Footer()

    def on_mount(self) -> None:
        """Evaluate off the UI thread (it opens results.duckdb read-only, briefly)."""
        self.action_reload()

    def action_reload(self) -> None:
        """Re-check every claim (after `make run` or collect)."""
        self.load()

    @work(thread=True, exclusive=True, group="findings", exit_on_error=False)
    def load(self) -> None:
        """evaluate_claims on results.duckdb, and each claim's row filter."""
        claims_path = self.config.root / "claims.yaml"
        try:
            results = evaluate_claims(self.config.outputs / "results.duckdb", claims_path)
            wheres = {c.id: dict(c.where) for c in load_claims(claims_path)}
        except Exception as exc:  # noqa: BLE001 - InputError (no db, bad claims.yaml) or a locked file
            self.post_message(FindingsLoaded([], error=str(exc)))
            return
        self.catalog.ensure_scanned()  # Enter opens a table: have the views ready
        self.post_message(FindingsLoaded([(r, wheres.get(r.id, {})) for r in results]))

    def on_findings_loaded(self, message: FindingsLoaded) -> None:
        """One row per claim."""
        title = self.query_one("#findings-title", Static)
        if message.error:
            title.update(f"[red]No findings yet[/]: {escape(message.error)}\n"
                         "Run the pipeline (p, or `make run`), then come back (g reloads).")
            return
        self.results = [r for r, _ in message.claims]
        self.wheres = {r.id: w for r, w in message.claims}
        grid = self.query_one("#claims", DataTable)
        grid.clear(columns=True)
        grid.add_columns("", "question", "reproduced [95% CI]", "verdict", "table")
        for r in self.results:
            mark = "[green]✓[/]" if r.ok else "[red]✗[/]"
            # Cells are cut to fit 120 columns; the highlighted claim is shown in full below.
            grid.add_row(mark, format_cell(r.question, 38), reproduced(r), format_cell(r.verdict, 30),
                         format_cell(r.table, 22), key=r.id)
        ok = sum(r.ok for r in self.results)
        title.update(f"[b]Findings[/]: {ok} of {len(self.results)} claims reproduce their published value "
                     f"(claims.yaml against outputs/results.duckdb)   [dim]Enter opens the table[/]")
        self.show_detail(0)

    @on(DataTable.RowHighlighted, "#claims")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail(event.cursor_row)

    def show_detail(self, index: int) -> None:
        """The highlighted claim in full: question, verdict sentence, where its number comes from."""
        if not 0 <= index < len(self.results):
            return
        r = self.results[index]
        where = views.equality_filter(self.wheres.get(r.id, {})) or "all rows"
        status = "[green]reproduces[/]" if r.ok else "[red]does not reproduce[/]"
        self.query_one("#claim-detail", Static).update(
            f"[b]{escape(r.question)}[/]\n{escape(r.verdict)}\n"
            f"{status} the published {escape(_number(r.published))} (tolerance {r.tolerance:g})   "
            f"[dim]{escape(r.id)} · {escape(r.table)} WHERE {escape(where)}[/]")

    def action_open(self) -> None:
        """Open the highlighted claim's table on the Results screen, filtered to its rows."""
        grid = self.query_one("#claims", DataTable)
        if not self.results:
            return
        r = self.results[grid.cursor_row]
        if r.table not in self.catalog.tables():
            self.notify(f"{r.table} is not among the tables under outputs/", severity="warning")
            return
        self.app.open_table(r.table, views.equality_filter(self.wheres.get(r.id, {})))  # type: ignore[attr-defined]

    @on(DataTable.RowSelected, "#claims")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()
