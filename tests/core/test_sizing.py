"""core/sizing.py: parameter counts from config shapes against hand computations and published sizes, bytes
of weights and KV cache, GPU counts, vLLM's tensor-parallel rule and the judge's placement."""

from __future__ import annotations

import pytest

from core import sizing
from core.config import load_params

PAPER = load_params(profile="paper")
GB = 1e9


def _shape(alias: str) -> sizing.ModelShape:
    shape = PAPER.model(alias).shape
    assert shape is not None
    return shape


def test_parameter_counts_follow_the_config_shapes():
    # Llama-3-8B by hand: untied embeddings + 32 blocks of GQA attention (8 KV heads of 128), a gated MLP, 2 norms
    block = 4096 * 4096 * 2 + 4096 * 1024 * 2 + 3 * 4096 * 14336 + 2 * 4096
    assert sizing.n_params(_shape("llama3-8b")) == 2 * 128256 * 4096 + 32 * block + 4096
    block70 = 8192 * 8192 * 2 + 8192 * 1024 * 2 + 3 * 8192 * 28672 + 2 * 8192
    assert sizing.n_params(_shape("llama3-70b")) == 2 * 128256 * 8192 + 80 * block70 + 8192
    published = {"llama3-8b": 8.03e9, "llama3-70b": 70.55e9, "phi3-mini": 3.82e9, "gemma2-9b": 9.24e9,
                 "qwen2.5-7b": 7.62e9, "mixtral-8x7b": 46.70e9, "smollm2-135m": 0.1345e9}
    for alias, count in published.items():
        assert sizing.n_params(_shape(alias)) == pytest.approx(count, rel=2e-3), alias
    assert sizing.n_params(_shape("mixtral-8x7b"), active=True) == pytest.approx(12.88e9, rel=2e-3)  # top-2 of 8
    assert sizing.weight_bytes(_shape("llama3-70b"), "bfloat16") / 1e9 == pytest.approx(141.1, abs=0.05)
    assert sizing.kv_bytes_per_token(_shape("llama3-8b"), "bfloat16") == 2 * 32 * 8 * 128 * 2


def test_gpus_and_tensor_parallel_sizes():
    assert sizing.gpus_needed(141.1 * GB, 80 * GB, 0.9) == 2 and sizing.gpus_needed(72 * GB, 80 * GB, 0.9) == 1
    assert sizing.gpus_needed(72.1 * GB, 80 * GB, 0.9) == 2
    assert [sizing.tensor_parallel(n, 64, 8) for n in (1, 2, 3, 5)] == [1, 2, 4, 8]
    assert sizing.tensor_parallel(3, 28, 4) == 4  # Qwen2.5-7B: 4 divides its 28 heads and 4 KV heads
    with pytest.raises(ValueError, match="divides"):
        sizing.tensor_parallel(5, 28, 4)  # 8 does not divide 28 heads


def test_judge_placement_flips_with_memory():
    judge = 17 * GB
    assert sizing.judge_placement(50 * GB, judge, 1, 1, 80 * GB, 0.9) == "beside"  # 72 - 50 = 22 free
    assert sizing.judge_placement(60 * GB, judge, 1, 1, 80 * GB, 0.9) == "after_model"  # 12 free, no other GPU
    assert sizing.judge_placement(60 * GB, judge, 1, 2, 80 * GB, 0.9) == "own_gpu"
    assert sizing.judge_placement(141.1 * GB, 16.1 * GB, 1, 1, 141 * GB, 1.0) == "after_model"  # 70B fills an H200
    assert sizing.judge_placement(120 * GB, judge, 2, 2, 80 * GB, 0.9) == "after_model"  # 60 per GPU: 12 free
    assert sizing.judge_placement(120 * GB, judge, 4, 4, 80 * GB, 0.9) == "beside"  # 30 per GPU: 42 free
