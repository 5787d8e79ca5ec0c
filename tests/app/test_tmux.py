"""The real app in a real terminal: tmux runs `python -m app` over the fixture study, the test types keys
and reads the pane, the way a person would see a regression (a crash at start-up, a screen that never
fills, a key that does nothing).

tmux is required, not optional: without it this test fails and says how to install it (the Debian image
and `make setup` machines have it; `apt-get install tmux`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Pane:
    """One detached tmux session on a private server socket (only this server is ever killed)."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True)
        return out.stdout

    def text(self) -> str:
        """What the terminal shows now."""
        return self.tmux("capture-pane", "-p", "-t", "tui")

    def wait_for(self, *needles: str, timeout: float = 15.0) -> str:
        """Poll the pane until every needle shows (no fixed sleeps: start-up time varies with load)."""
        deadline, shown = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            shown = self.text()
            if all(n in shown for n in needles):
                return shown
            time.sleep(0.2)
        raise AssertionError(f"never showed {needles!r}; the pane was:\n{shown}")

    def wait_gone(self, needle: str, timeout: float = 10.0) -> None:
        """Poll the pane until `needle` no longer shows."""
        deadline = time.monotonic() + timeout
        while needle in self.text():
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} still shows; the pane was:\n{self.text()}")
            time.sleep(0.2)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "tui", *keys)


def require_tmux() -> None:
    """Fail (never skip) without tmux: a skipped terminal test would look green in `make test`."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed; the terminal test needs it: apt-get install tmux")


@pytest.fixture
def pane(study: Path) -> Iterator[Pane]:
    require_tmux()
    pane = Pane(f"eia-test-{os.getpid()}")
    env = f"PYTHONPATH={ROOT} TERM=xterm-256color"
    # COLUMNS/LINES inherited from the test process (pytest or a plugin may set them) would override the
    # pane's real size in shutil.get_terminal_size, which Textual uses.
    command = f"cd {study} && unset COLUMNS LINES && {env} {sys.executable} -m app --mode findings; sleep 5"
    pane.tmux("new-session", "-d", "-s", "tui", "-x", "120", "-y", "40", command)
    try:
        yield pane
    finally:
        subprocess.run(["tmux", "-L", pane.socket, "kill-server"], capture_output=True)


def test_a_person_can_read_findings_transcripts_plots_and_provenance(pane: Pane) -> None:
    shown = pane.wait_for("Findings", "2 of 4 claims reproduce", "Is empathy decodable")
    assert "0.942 [0.91, 0.97]" in shown
    pane.keys("t")
    pane.wait_for("prompt 1 / 2", "duel_01", "α = +5", "classifier")
    pane.keys("Right")
    pane.wait_for("free_01", "task-free")
    pane.keys("l")
    pane.wait_for("test AUROC by layer", "m1 logistic")
    pane.keys("5")
    pane.wait_for("max 0.950 @ 41")
    pane.keys("r")
    pane.wait_for("baselines_null_samples", "rows 1–100 of 800")
    pane.keys("v")
    pane.wait_for("Provenance", "0123456789abcdef", "rev-42")
    pane.keys("Escape")  # alone: Escape then q in one burst would read as Alt+q
    pane.wait_gone("Provenance of run")
    pane.keys("q")
    pane.wait_gone("Empathy-in-Action")  # q quit the app (the shell's `sleep` holds the pane open)


def test_no_tmux_is_a_failure_not_a_skip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="apt-get install tmux"):
        require_tmux()
