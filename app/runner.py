"""Launch one phase as a subprocess, stream its output, parse progress, cancel it (P3, P10).

The TUI computes nothing: a phase runs exactly as DVC and the Makefile run it, as
`python -m analyses PHASE --profile P` (or `dvc repro STAGE`). The child gets its own session, so
cancelling signals its process group (the phase and anything it spawned, e.g. dvc's python) and
never the TUI itself. No Textual import here, so the runner is testable headless.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

# tqdm redraws its bar with '\r' and no newline, so both separate lines here.
_SEPARATOR = re.compile(rb"\r\n|\r|\n")
# tqdm's default bar: " 42%|████      | 42/100 [00:01<00:02, 30.1it/s]".
_PERCENT = re.compile(r"(\d{1,3})%\|")


def phase_argv(phase: str, profile: str = "smoke", model: str | None = None) -> list[str]:
    """argv of `python -m analyses PHASE --profile P [--model M]` with this interpreter."""
    argv = [sys.executable, "-m", "analyses", phase, "--profile", profile]
    return argv + ["--model", model] if model else argv


def dvc_argv(stage: str) -> list[str]:
    """argv of `dvc repro STAGE` (the smoke-profile pipeline in dvc.yaml)."""
    return ["dvc", "repro", stage]


def parse_progress(line: str) -> float | None:
    """Percent complete (0-100) from a tqdm line, or None when the line carries no bar."""
    match = _PERCENT.search(line)
    return min(float(match.group(1)), 100.0) if match else None


class PhaseRunner:
    """One subprocess: start it, iterate its merged stdout/stderr lines, wait or cancel."""

    def __init__(self, argv: list[str], cwd: Path | str | None = None) -> None:
        self.argv = list(argv)
        self.cwd = Path(cwd) if cwd else None
        self.proc: subprocess.Popen[bytes] | None = None
        self.cancelled = False

    def start(self) -> None:
        """Start the child in a new session (its own process group), output merged and unbuffered."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            self.argv, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0, start_new_session=True,
        )

    def lines(self) -> Iterator[str]:
        """Yield output lines as they arrive (split on '\\r' and '\\n') until the child closes stdout."""
        if self.proc is None:
            self.start()
        assert self.proc is not None and self.proc.stdout is not None
        fd, pending = self.proc.stdout.fileno(), b""
        # os.read returns whatever is available, so a bar redrawn with '\r' shows up at once
        # instead of waiting for a newline or a full buffer.
        while chunk := os.read(fd, 65536):
            *complete, pending = _SEPARATOR.split(pending + chunk)
            for raw in complete:
                if raw.strip():
                    yield raw.decode("utf-8", errors="replace")
        if pending.strip():
            yield pending.decode("utf-8", errors="replace")
        self.proc.stdout.close()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child; returns its exit code (negative: killed by that signal)."""
        assert self.proc is not None, "not started"
        return self.proc.wait(timeout)

    @property
    def running(self) -> bool:
        """Whether the child has started and not yet exited."""
        return self.proc is not None and self.proc.poll() is None

    def cancel(self, grace: float = 5.0) -> None:
        """SIGTERM the child's process group, SIGKILL it after `grace` seconds; no-op if finished."""
        if not self.running:
            return
        assert self.proc is not None
        self.cancelled = True
        # Only our child's group: start_new_session made the child pid its group id. Checking
        # `running` first avoids signalling a recycled pid.
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.proc.wait()

    def _signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):  # the group exited between check and signal
            os.killpg(self.proc.pid, sig)
