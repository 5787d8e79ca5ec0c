"""The Makefile's verbs that need no compute: `make test-gpu` on a machine without CUDA."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="with CUDA, make test-gpu runs the GPU tier itself")
def test_make_test_gpu_without_cuda_says_so_and_exits_0():
    # pytest is never started there, so it cannot exit 5 (no tests collected); `-o setup`: the suite
    # runs after `make setup`, and must not reinstall the venv it runs in
    done = subprocess.run(["make", "-s", "-o", "setup", "test-gpu"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "no CUDA device on this machine" in done.stdout and "passed" not in done.stdout
