"""Review screen: the seed's human review of 20 pairs (DESIGN §4 dataset, Phase 1.2) done in the TUI.

The sample, the sheet and the import are the CLI's (app/review_session.py over core/review.py). Keys:
a / A label of text A ok / not ok, b / B the same for text B, 1-5 realism, e edit the note, ←/→ pair,
i import (stores `validate_review`, then shows the agreement with the labels).
"""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from app.messages import ReviewImported, ReviewLoaded
from app.review_session import NO, YES, ReviewSession, ReviewSourceFor

_VERDICT = {YES: "[green]ok[/]", NO: "[red]not ok[/]", "": "[dim]?[/]"}


class ReviewScreen(Screen[None]):
    """One pair at a time: both texts, their labels and situation, the reviewer's ratings."""

    AUTO_FOCUS = ""  # no auto focus: the note box would take every key; it is focused only on `e`

    BINDINGS = [
        Binding("a", "label('a', 'yes')", "A ok"),
        Binding("A", "label('a', 'no')", "A not ok"),
        Binding("b", "label('b', 'yes')", "B ok"),
        Binding("B", "label('b', 'no')", "B not ok"),
        *(Binding(str(i), f"realism({i})", "realism" if i == 1 else "", show=i == 1) for i in range(1, 6)),
        Binding("e", "note", "Note"),
        Binding("right,enter", "step(1)", "Next"),
        Binding("left", "step(-1)", "Prev"),
        Binding("i", "import", "Import"),
        Binding("escape", "leave_note", show=False),
    ]

    def __init__(self, root: Path, outputs: Path, profile: str, source_for: ReviewSourceFor) -> None:
        super().__init__()
        self.root, self.outputs, self.profile, self.source_for = root, outputs, profile, source_for
        self.session: ReviewSession | None = None
        self.index = 0

    def compose(self) -> ComposeResult:
        """Progress, situation, the two texts side by side, ratings, note box, agreement."""
        yield Header()
        yield Static("loading the sample…", id="review-progress")
        yield Static(id="situation")
        with Horizontal(id="pair"):
            with Vertical(classes="side"):
                yield Static(id="label-a", classes="side-label")
                yield Static(id="text-a", classes="side-text")
            with Vertical(classes="side"):
                yield Static(id="label-b", classes="side-label")
                yield Static(id="text-b", classes="side-text")
        yield Static(id="ratings")
        yield Input(placeholder="note (e to edit, Enter to save, Esc to leave)", id="note")
        yield Static(id="agreement")
        yield Footer()

    def on_mount(self) -> None:
        """Sample (or resume) off the UI thread: it reads the dataset and the sheet."""
        self.load()

    @work(thread=True, exclusive=True, group="review", exit_on_error=False)
    def load(self) -> None:
        """Open the session (the same sampler and sheet name as `review sample`)."""
        try:
            session = ReviewSession.open(self.source_for(self.root, self.profile), self.outputs)
        except Exception as exc:  # noqa: BLE001 - bad params/dataset: say so on the screen
            self.post_message(ReviewLoaded(None, "", error=str(exc)))
            return
        self.post_message(ReviewLoaded(session, str(session.path)))

    def on_review_loaded(self, message: ReviewLoaded) -> None:
        """Show the first pair not yet rated."""
        if message.error or message.sheet is None or not len(message.sheet):
            self.query_one("#review-progress", Static).update(
                f"[red]Cannot open a review[/]: {escape(message.error or 'no pairs to sample')}")
            return
        self.session = message.sheet
        self.index = self.session.first_open()
        self.show()

    def show(self) -> None:
        """Redraw the current pair."""
        if self.session is None:
            return
        row, n = self.session.row(self.index), len(self.session)
        done = self.session.done()
        hint = "  [b]all rated: press i to import[/]" if done == n else ""
        self.query_one("#review-progress", Static).update(
            f"[b]{self.index + 1} / {n}[/]  ({done} rated)  {escape(row['pair_id'])}  "
            f"{escape(row['family'])} · {escape(row['pair_kind'])}{hint}\n[dim]sheet {escape(self.sheet_label())}[/]")
        self.query_one("#situation", Static).update(
            f"[b]Situation[/]: {escape(row['situation']) or '[dim](not in the dataset)[/]'}")
        for side in ("a", "b"):
            verdict = _VERDICT.get(row[f"label_ok_{side}"].strip().lower(), row[f"label_ok_{side}"])
            self.query_one(f"#label-{side}", Static).update(
                f"[b]{side.upper()}[/]: {escape(row[f'label_{side}'])}   label {verdict}")
            self.query_one(f"#text-{side}", Static).update(escape(row[f"text_{side}"]))
        self.query_one("#ratings", Static).update(
            f"realism (1-5): [b]{escape(row['realism']) or '?'}[/]   note: {escape(row['note']) or '[dim]-[/]'}")
        self.query_one("#note", Input).value = row["note"]

    def sheet_label(self) -> str:
        """The sheet's path from the repository root (where `review import` would be typed)."""
        assert self.session is not None
        try:
            return str(self.session.path.relative_to(self.root))
        except ValueError:
            return str(self.session.path)

    def _rate(self, column: str, value: str) -> None:
        if self.session is not None:
            self.session.rate(self.index, column, value)
            self.show()

    def action_label(self, side: str, value: str) -> None:
        """Is text A (or B) what its label says?"""
        self._rate(f"label_ok_{side}", value)

    def action_realism(self, score: int) -> None:
        """Could a thoughtful agent have written this pair (1-5)?"""
        self._rate("realism", str(score))

    def action_note(self) -> None:
        """Focus the note box."""
        self.query_one("#note", Input).focus()

    def action_leave_note(self) -> None:
        """Back to the keys without saving the note box."""
        self.set_focus(None)
        self.show()

    @on(Input.Submitted, "#note")
    def _note(self, event: Input.Submitted) -> None:
        self._rate("note", event.value.strip())
        self.set_focus(None)

    def action_step(self, step: int) -> None:
        """Previous or next pair (bounded)."""
        if self.session is not None:
            self.index = min(max(self.index + step, 0), len(self.session) - 1)
            self.show()

    def action_import(self) -> None:
        """Store the sheet through the import path, once every pair is rated."""
        if self.session is None:
            return
        if self.session.done() < len(self.session):
            self.notify(f"{len(self.session) - self.session.done()} pairs still unrated", severity="warning")
            return
        self.import_sheet(self.session)

    @work(thread=True, exclusive=True, group="review-import", exit_on_error=False)
    def import_sheet(self, session: ReviewSession) -> None:
        """Validate and store off the UI thread."""
        try:
            table = session.import_(self.outputs)
        except Exception as exc:  # noqa: BLE001 - InputError (bad sheet) or I/O: report it, keep the sheet
            self.post_message(ReviewImported([], error=str(exc)))
            return
        rows = [(str(r.scope), str(r.check), None if r.value != r.value else float(r.value), int(r.n))
                for r in table.itertuples()]
        self.post_message(ReviewImported(rows))

    def on_review_imported(self, message: ReviewImported) -> None:
        """Show the agreement with the labels."""
        box = self.query_one("#agreement", Static)
        if message.error:
            box.update(f"[red]Import failed[/]: {escape(message.error)}")
            return
        lines = [f"{scope:<24} {check:<22} {'-' if value is None else f'{value:.3f}'}  (n={n})"
                 for scope, check, value, n in message.summary]
        box.update("[b]Stored validate_review. Agreement with the labels:[/]\n" + escape("\n".join(lines)))
        self.notify("review imported", title="validate_review")
