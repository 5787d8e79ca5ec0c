"""extract phase: a run killed with SIGKILL part-way resumes computing only the batches not on disk, and
its cache equals an uninterrupted run's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cache import ActivationCache
from tests.conftest import ROOT, write_mini_dataset

pytestmark = pytest.mark.slow
TINY = ["--set", "models.tiny-llama.source=tiny", "--set", "models.tiny-llama.hf_id=tiny-llama",
        "--set", "models.tiny-llama.family=llama"]
# Runs the extract phase with every layer batch logged (a fingerprint of its token ids) and slowed down,
# so the test can tell which batches a process computed and kill it between two parts.
COUNTED = """
import hashlib, sys, time
import core.activations as extraction
real, log, delay = extraction.pooled_residuals, open(sys.argv[1], "a"), float(sys.argv[2])
def counted(model, ids, *args, **kwargs):
    out = real(model, ids, *args, **kwargs)
    log.write(hashlib.sha256(ids.numpy().tobytes()).hexdigest()[:16] + "\\n")
    log.flush()
    time.sleep(delay)
    return out
extraction.pooled_residuals = counted
from analyses.__main__ import main
sys.exit(main(sys.argv[3:]))
"""


def _project(root: Path) -> list[str]:
    """A project folder with a mini dataset; the extract command line (small batches: many of them)."""
    root.mkdir()
    (root / "data").symlink_to(ROOT / "data")
    (root / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    data = write_mini_dataset(root / "mini.json", per_family=1)
    return ["extract", "--model", "tiny-llama", *TINY, "--set", f"data.dataset={data}",
            "--set", "extract.batch_tokens=600", "--set", "extract.flush_every_batches=1"]


def _start(root: Path, args: list[str], log: str, delay: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", COUNTED, str(root / log), str(delay), *args], cwd=root,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _layer_cache(root: Path) -> ActivationCache | None:
    """The layer entry of the activation cache (not the token-embedding one), once it exists."""
    for key in (root / "outputs" / "activations" / "tiny-llama").glob("*/key.json"):
        if "site" not in json.loads(key.read_text()):
            return ActivationCache(key.parent)
    return None


def _logged(root: Path, log: str) -> list[str]:
    path = root / log
    return path.read_text().split() if path.exists() else []


def _run(root: Path, args: list[str], log: str) -> None:
    proc = _start(root, args, log, 0.0)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-2000:]


def test_sigkilled_extraction_reruns_only_the_missing_batches(tmp_path):
    clean_root, killed_root = tmp_path / "clean", tmp_path / "killed"
    clean_args, killed_args = _project(clean_root), _project(killed_root)
    _run(clean_root, clean_args, "batches.log")
    plan = _logged(clean_root, "batches.log")
    assert len(plan) >= 8 and len(set(plan)) == len(plan)

    proc = _start(killed_root, killed_args, "batches.log", 1.0)
    deadline, cache = time.time() + 300, None
    while time.time() < deadline and proc.poll() is None:
        cache = cache or _layer_cache(killed_root)
        if cache is not None and len(cache.parts()) >= 2:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert cache is not None and not cache.complete
    on_disk = len(cache.parts())  # a part per batch; no temporary file is ever mistaken for one
    assert 2 <= on_disk < len(plan), "the run must be killed part-way"
    assert _logged(killed_root, "batches.log") in (plan[:on_disk], plan[:on_disk + 1])

    _run(killed_root, killed_args, "rerun.log")
    assert _logged(killed_root, "rerun.log") == plan[on_disk:]  # only the missing batches, in plan order
    summary = pd.read_parquet(killed_root / "outputs" / "extract" / "tiny-llama" / "extract_summary").iloc[0]
    assert summary.batches == len(plan) - on_disk
    clean = _layer_cache(clean_root)
    assert clean is not None and clean.root.name == cache.root.name and cache.complete
    ids = sorted(clean.done_ids())
    assert sorted(cache.done_ids()) == ids and sum(1 for _ in _part_ids(cache)) == len(ids)  # no duplicates
    assert np.array_equal(cache.load(ids), clean.load(ids))


def _part_ids(cache: ActivationCache):
    for part in cache.parts():
        with np.load(part) as data:
            yield from (str(t) for t in data["text_ids"])
