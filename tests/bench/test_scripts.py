"""Every benchmark script runs to its ratio line at a small size (the figures themselves are `make bench`'s).

Two of them once failed on their first line for months (the dataset loaded without its scenarios file),
because nothing ran them. nulls.py is left out: it reads the smoke activation cache, which a test
checkout does not have; table_digest.py is a comparison tool with its own exit code, not a benchmark.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNS = {
    "extract.py": (["--texts", "4"], ["ratio_vs_v0", "ratio_vs_bare_hf", "ratio_vs_lm_head"]),
    "generate.py": (["--prompts", "2", "--batch", "2", "--max-new-tokens", "4"], ["ratio_batched_vs_sequential"]),
    "patching.py": (["--instances", "1"], ["ratio_batched_vs_one_per_pass", "ratio_attribution_vs_exact"]),
    "behaviour.py": (["--instances", "1"], ["ratio_choice_runs_vs_separate"]),
    "steering.py": (["--tokens", "4"], ["ratio_batched_vs_sequential"]),
    "gpu_shapes.py": (["--scaled"], ["ratio_batched_vs_one_per_pass"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("script", list(RUNS))
def test_the_bench_script_prints_its_ratios(script):
    args, ratios = RUNS[script]
    done = subprocess.run([sys.executable, f"bench/{script}", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ratios:
        found = re.findall(rf"{name}: ([0-9.]+)", done.stdout)
        assert found and all(float(x) > 0 for x in found), f"{script}: no {name} in\n{done.stdout[-1000:]}"
