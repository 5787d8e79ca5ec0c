"""Pipeline screen: phases with status and GPU badge, run/cancel, live log and progress.

The subprocess, the disk scan of phase states and the accelerator probe run in thread workers that
only post Messages; the handlers below are the only code that touches widgets or screen state
(harlequin's worker -> message -> handler pattern).
"""

from __future__ import annotations

import shlex
import subprocess

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, ListItem, ListView, Log, ProgressBar, Static

from app.config import AppConfig
from app.messages import DeviceFound, PhaseFinished, PhaseLine, PhaseStarted, RunnerReady, StatusesLoaded
from app.pipeline_state import PhaseStatus, phase_statuses, profile_names
from app.runner import PhaseRunner, dvc_argv, parse_progress

_GLYPH = {"done": "[green]●[/]", "not run": "[dim]○[/]", "running": "[yellow]▶[/]",
          "failed": "[red]✗[/]", "cancelled": "[red]■[/]"}


class PhaseItem(ListItem):
    """One phase row: glyph, name, state, models with results, badge."""

    def __init__(self, status: PhaseStatus) -> None:
        self.phase = status.name
        self.label = Label(self.describe(status))
        super().__init__(self.label)

    @staticmethod
    def describe(status: PhaseStatus, state: str | None = None) -> str:
        """Row text; `state` overrides the on-disk state (running, failed, cancelled)."""
        state = state or status.state
        badge = "[b red]GPU[/]" if status.badge == "GPU" else "[green]CPU ok[/]"
        models = ", ".join(status.models) if status.models else "-"
        return f"{_GLYPH.get(state, ' ')} {status.name:<10} {state:<9} {badge}\n  [dim]{models}[/]"

    def show(self, status: PhaseStatus, state: str | None = None) -> None:
        """Redraw the row."""
        self.label.update(self.describe(status, state))


class PipelineScreen(Screen[None]):
    """Run phases (`python -m analyses PHASE --profile P`) and watch their output."""

    BINDINGS = [
        Binding("x", "run", "Run"),
        Binding("d", "run_dvc", "dvc repro"),
        Binding("c", "cancel", "Cancel"),
        Binding("s", "cycle_profile", "Profile"),
    ]

    def __init__(self, config: AppConfig) -> None:
        super().__init__()
        self.config = config
        self.profile = config.profile
        self.runner: PhaseRunner | None = None
        self.running: str | None = None
        self.last_state: dict[str, str] = {}  # failed/cancelled, until the next run
        self.device = ""  # the accelerator the runner sees, "" for none
        self.known: list[PhaseStatus] = []  # the last scan

    def compose(self) -> ComposeResult:
        """Phase list on the left; run title, progress and log on the right."""
        yield Header()
        with Horizontal(id="pipeline"):
            with Vertical(id="phases-pane"):
                yield Static("Phases", classes="pane-title")
                yield ListView(id="phases")
                yield Static(id="profile")
            with Vertical(id="run-pane"):
                yield Static("Select a phase and press Enter or x to run it.", id="run-title")
                yield ProgressBar(total=100, show_eta=False, id="progress")
                yield Static("", id="bar-line")
                yield Log(max_lines=20_000, id="log")
        yield Footer()

    def on_mount(self) -> None:
        """Scan the phases and probe the accelerator, both off the UI thread."""
        self.refresh_phases()
        self.probe_device()

    def refresh_phases(self) -> None:
        """Re-read every phase's state from disk (in a worker); the rows follow in on_statuses_loaded."""
        self.draw_rows()
        self.scan(self.profile)

    @work(thread=True, exclusive=True, group="scan", exit_on_error=False)
    def scan(self, profile: str) -> None:
        """Phases from dvc.yaml with their on-disk state under `profile`."""
        self.post_message(StatusesLoaded(phase_statuses(self.config.root, self.config.outputs, profile)))

    def on_statuses_loaded(self, message: StatusesLoaded) -> None:
        """Build the list on the first scan, then redraw the rows."""
        self.known = message.statuses
        phases = self.query_one("#phases", ListView)
        if not phases.children:
            phases.extend(PhaseItem(s) for s in self.known)
            phases.index = 0
        self.draw_rows()

    def draw_rows(self) -> None:
        """Redraw every row from the last scan and the run states, and the profile line."""
        for status in self.known:
            for item in self.query(PhaseItem):
                if item.phase == status.name:
                    state = "running" if status.name == self.running else self.last_state.get(status.name)
                    item.show(status, state)
        device = f"[b green]{self.device}[/]" if self.device else "[dim]no GPU visible[/]"
        self.query_one("#profile", Static).update(f"profile [b]{self.profile}[/]  (s: switch)\n{device}")

    @work(thread=True, group="device", exit_on_error=False)
    def probe_device(self) -> None:
        """Ask the driver which accelerator a launched phase would see (no torch in the TUI: P3)."""
        if not self.config.gpu_probe:
            return
        try:
            out = subprocess.run(list(self.config.gpu_probe), capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return
        lines = [ln.strip() for ln in out.stdout.splitlines() if ln.strip()] if out.returncode == 0 else []
        self.post_message(DeviceFound("; ".join(lines)))

    def on_device_found(self, message: DeviceFound) -> None:
        """Show the GPU badge."""
        self.device = message.badge
        self.draw_rows()

    def selected_phase(self) -> str | None:
        """The highlighted phase, if any."""
        item = self.query_one("#phases", ListView).highlighted_child
        return item.phase if isinstance(item, PhaseItem) else None

    @on(ListView.Selected, "#phases")
    def _selected(self, event: ListView.Selected) -> None:
        self.action_run()

    def action_run(self, dvc: bool = False) -> None:
        """Launch the highlighted phase unless one is already running."""
        phase = self.selected_phase()
        if phase is None:
            return
        if self.running:
            self.notify(f"{self.running} is still running (c cancels it)", severity="warning")
            return
        argv = dvc_argv(phase) if dvc else self.config.argv_for(phase, self.profile)
        self.running = phase
        self.last_state.pop(phase, None)
        self.run_phase(phase, argv)
        self.refresh_phases()

    def action_run_dvc(self) -> None:
        """Launch `dvc repro STAGE` for the highlighted phase."""
        self.action_run(dvc=True)

    def action_cancel(self) -> None:
        """Stop the running phase (its process group only)."""
        if self.runner and self.runner.running:
            self.query_one("#run-title", Static).update(f"cancelling {self.running}…")
            self.cancel_runner(self.runner)

    def action_cycle_profile(self) -> None:
        """Switch the profile used by the next run (and the GPU badges)."""
        names = profile_names(self.config.root / "params.yaml")
        at = names.index(self.profile) if self.profile in names else -1
        self.profile = names[(at + 1) % len(names)]
        self.app.sub_title = f"profile: {self.profile}"
        self.refresh_phases()

    @work(thread=True, exclusive=True, group="phase", exit_on_error=False)
    def run_phase(self, phase: str, argv: list[str]) -> None:
        """Run one subprocess to the end, posting its lines (off the UI thread)."""
        runner = PhaseRunner(argv, cwd=self.config.root)
        self.post_message(RunnerReady(runner))
        try:
            runner.start()
        except OSError as exc:
            self.post_message(PhaseFinished(phase, None, error=str(exc)))
            return
        self.post_message(PhaseStarted(phase, argv))
        try:
            for line in runner.lines():
                self.post_message(PhaseLine(phase, line, parse_progress(line)))
            self.post_message(PhaseFinished(phase, runner.wait(), runner.cancelled))
        except Exception as exc:  # noqa: BLE001 - the screen must always learn the run is over
            runner.cancel(grace=2.0)
            self.post_message(PhaseFinished(phase, None, runner.cancelled, error=repr(exc)))

    @work(thread=True, group="cancel", exit_on_error=False)
    def cancel_runner(self, runner: PhaseRunner) -> None:
        """Terminate (then kill) the child group; blocking, hence off the UI thread."""
        runner.cancel()

    def on_runner_ready(self, message: RunnerReady) -> None:
        """Keep the runner, for cancel (set here, on the UI thread, not by the worker)."""
        self.runner = message.runner

    def on_phase_started(self, message: PhaseStarted) -> None:
        """Reset the progress bar and echo the command."""
        command = shlex.join(message.argv)
        self.query_one("#run-title", Static).update(f"[yellow]▶[/] {message.phase}: {command}")
        self.query_one("#progress", ProgressBar).update(total=100, progress=0)
        self.query_one("#bar-line", Static).update("")
        self.query_one("#log", Log).write_line(f"$ {command}")

    def on_phase_line(self, message: PhaseLine) -> None:
        """tqdm redraws go to the progress bar, every other line to the log."""
        if message.progress is None:
            self.query_one("#log", Log).write_line(message.line)
        else:
            self.query_one("#progress", ProgressBar).update(progress=message.progress)
            self.query_one("#bar-line", Static).update(message.line.strip())

    def on_phase_finished(self, message: PhaseFinished) -> None:
        """Report the exit, refresh statuses from disk."""
        self.running = None
        rc = message.returncode
        if message.cancelled:
            state, text, severity = "cancelled", f"[red]■[/] {message.phase} cancelled", "warning"
        elif rc == 0:
            state, text, severity = "", f"[green]✓[/] {message.phase} finished", "information"
            self.query_one("#progress", ProgressBar).update(progress=100)
        else:
            why = message.error or f"exit code {rc}"
            state, text, severity = "failed", f"[red]✗[/] {message.phase} failed ({why})", "error"
        if state:
            self.last_state[message.phase] = state
        self.query_one("#run-title", Static).update(text)
        self.query_one("#log", Log).write_line(f"[{message.phase}: {state or 'done'}, exit {rc}]")
        self.notify(text, severity=severity)  # type: ignore[arg-type]
        self.refresh_phases()

    def on_unmount(self) -> None:
        """Never leave a phase running behind a closed TUI (its reader thread would block exit)."""
        if self.runner and self.runner.running:
            self.runner.cancel(grace=2.0)
