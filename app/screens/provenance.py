"""Provenance modal: the `runs` record behind any row (P7): git sha, params and dataset hashes, model and
revision, seed, device, library versions, timings. Any screen opens it with the row's run_id."""

from __future__ import annotations

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from app.catalog import Catalog
from app.messages import ProvenanceLoaded
from app.reads import provenance


class ProvenanceScreen(ModalScreen[None]):
    """The run of one row, field by field; Escape (or v, q) closes it."""

    BINDINGS = [Binding("escape,v,q", "dismiss", "Close")]

    def __init__(self, catalog: Catalog, run_id: str) -> None:
        super().__init__()
        self.catalog = catalog
        self.run_id = run_id
        self.fields: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        """A titled box; the fields arrive from a worker."""
        with Vertical(id="provenance"):
            yield Static(f"[b]Provenance[/] of run {escape(self.run_id)}", classes="pane-title")
            yield Static("loading…", id="provenance-body")
            yield Static("[dim]Esc closes[/]")

    def on_mount(self) -> None:
        """Read the run off the UI thread."""
        self.load(self.run_id)

    @work(thread=True, exclusive=True, group="provenance", exit_on_error=False)
    def load(self, run_id: str) -> None:
        """One query on `runs`."""
        self.post_message(ProvenanceLoaded(run_id, provenance(self.catalog, run_id)))

    def on_provenance_loaded(self, message: ProvenanceLoaded) -> None:
        """Show each field on its own line."""
        self.fields = message.fields
        body = self.query_one("#provenance-body", Static)
        if not message.fields:
            body.update(f"No run {escape(message.run_id)} in `runs` (was collect run on these outputs?).")
            return
        width = max(len(name) for name, _ in message.fields)
        body.update("\n".join(f"[b]{escape(name):<{width}}[/]  {escape(value)}" for name, value in message.fields))
