"""`python -m analyses plan`: the plan's rows against a manual computation from the shapes, dollars linear in
--price, the judge's placement flipping with GPU memory, tensor parallelism following --gpus, exit 2."""

from __future__ import annotations

import pytest

from analyses.__main__ import main
from analyses.plan import Facts, plan
from core import sizing
from core.config import load_params
from core.data import load_dataset

PAPER = load_params(profile="paper")


def _shape(alias: str) -> sizing.ModelShape:
    shape = PAPER.model(alias).shape
    assert shape is not None
    return shape


def test_extract_row_equals_a_manual_computation():
    rows = {(r.phase, r.model): r for r in plan(PAPER, 80, None)}
    s, n_texts = _shape("llama3-8b"), len(load_dataset(PAPER.data.dataset, PAPER.data.scenarios).texts)
    per_token = (2 * 4096 + 2 * 4096 + 2 * 1024 + 3 * 14336) * 2 + 2 * 32 * 8 * 128 * 2  # activations + KV
    need = sizing.n_params(s) * 2 + PAPER.extract.batch_tokens * per_token
    extract = rows[("extract", "llama3-8b")]
    assert extract.gpus == 1 and extract.gb_per_gpu == pytest.approx(need / 1e9)
    assert extract.disk_gb == pytest.approx(n_texts * (32 + 1) * 4096 * 2 / 1e9)  # every layer + embeddings, bf16
    facts = Facts(PAPER, load_dataset(PAPER.data.dataset, PAPER.data.scenarios))
    p = PAPER.plan
    hours = (8.030261248 * sum(facts.texts) / p.forward_tokens_per_s_per_b + 16.060522496 / p.load_gb_per_s) / 3600
    assert extract.gpu_hours == pytest.approx(hours)
    big = rows[("extract", "llama3-70b")]
    assert big.gpus == sizing.gpus_needed(big.gb_per_gpu * big.gpus * 1e9, 80e9, p.memory_headroom) >= 2
    assert rows[("probes", "llama3-70b")].gpus == 0  # CPU phases read the cache


def _dollars(capsys, *flags: str) -> float:
    assert main(["plan", "--profile", "paper", *flags]) == 0
    total = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("total"))
    return float(total.split()[-1])


def test_dollars_scale_linearly_with_the_price(capsys):
    one, three = _dollars(capsys, "--price", "1"), _dollars(capsys, "--price", "3")
    assert one > 0 and three == pytest.approx(3 * one, rel=1e-3) and _dollars(capsys, "--price", "0") == 0


@pytest.mark.parametrize(("flags", "where"), [
    (["--gpu-memory", "141"], "judge beside it"),
    (["--gpu-memory", "70"], "judge after the model is freed"),  # Gemma-2 steering needs ~53 GB (v3 prompts)
    (["--gpu-memory", "70", "--gpus", "2"], "judge on its own GPU"),
])
def test_the_judge_placement_flips_when_memory_is_too_small(capsys, flags, where):
    assert main(["plan", "--profile", "paper", *flags]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("steering   gemma2-9b")]
    assert len(lines) == 1 and lines[0].endswith(where)


def test_tensor_parallel_follows_the_visible_gpus(capsys):
    assert PAPER.dataset.vllm_tensor_parallel_size == "auto"
    for gpus in ("4", "8"):
        assert main(["plan", "--profile", "paper", "--gpus", gpus]) == 0
        row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("dataset    llama3-70b"))
        assert row.split()[2] == gpus


@pytest.mark.parametrize("argv", [["--profile", "nope"], ["--price", "-1"], ["--gpu-memory", "0"],
                                  ["--set", "models.llama3-8b.shape=null"]])
def test_bad_input_exits_2(capsys, argv):
    assert main(["plan", *argv]) == 2
    assert "error:" in capsys.readouterr().err
