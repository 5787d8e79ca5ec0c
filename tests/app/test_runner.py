"""PhaseRunner: argv, streamed lines ('\\r' and '\\n'), tqdm progress, cancelling its own child."""

from __future__ import annotations

import os
import sys
import time

from app.runner import PhaseRunner, dvc_argv, parse_progress, phase_argv


def test_argv_is_the_cli_entry_point() -> None:
    assert phase_argv("probes", "paper") == [sys.executable, "-m", "analyses", "probes", "--profile", "paper"]
    assert phase_argv("extract", "smoke", "m1")[-2:] == ["--model", "m1"]
    assert dvc_argv("probes") == ["dvc", "repro", "probes"]


def test_streams_lines_and_exit_code() -> None:
    runner = PhaseRunner([sys.executable, "-c", "print('a'); print('b'); raise SystemExit(3)"])
    assert list(runner.lines()) == ["a", "b"]
    assert runner.wait(10) == 3


def test_splits_carriage_returns_and_merges_stderr() -> None:
    code = (
        "import sys\n"
        "for p in (0, 50, 100): sys.stderr.write(f'\\rload: {p:3d}%|##| {p}/100')\n"
        "sys.stderr.write('\\n'); print('done')"
    )
    runner = PhaseRunner([sys.executable, "-c", code])
    lines = list(runner.lines())
    assert lines == ["load:   0%|##| 0/100", "load:  50%|##| 50/100", "load: 100%|##| 100/100", "done"]
    assert [parse_progress(x) for x in lines] == [0.0, 50.0, 100.0, None]
    assert runner.wait(10) == 0


def test_parse_progress_ignores_other_percentages() -> None:
    assert parse_progress("accuracy 93% on test") is None
    assert parse_progress("extract m1:  42%|████      | 42/100 [00:01<00:02]") == 42.0


def test_cancel_stops_only_its_child_group() -> None:
    runner = PhaseRunner([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"])
    lines = runner.lines()
    assert next(lines) == "up"
    assert os.getpgid(runner.proc.pid) != os.getpgrp()  # its own group: our process is never signalled
    started = time.monotonic()
    runner.cancel(grace=5)
    assert runner.wait(5) < 0 and runner.cancelled
    assert time.monotonic() - started < 4
    assert list(lines) == []


def test_cancel_after_exit_is_a_no_op() -> None:
    runner = PhaseRunner([sys.executable, "-c", "pass"])
    list(runner.lines())
    runner.wait(10)
    runner.cancel()
    assert not runner.cancelled
