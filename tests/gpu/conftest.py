"""Fixtures of the GPU tier: every tiny family on the test device, in float32 and bfloat16.

EIA_TEST_DEVICE=cpu runs the tier on the CPU (how it is checked on a machine without CUDA).
"""

from __future__ import annotations

import os

import pytest
import torch

from core.config import ModelSpec
from core.models.loader import load_model
from tests.conftest import FAMILIES as TINY_FAMILIES

DEVICE = os.environ.get("EIA_TEST_DEVICE", "cuda")
TOLERANCE = {torch.float32: 1e-4, torch.bfloat16: 5e-2}


def tiny_model(family: str, dtype: torch.dtype):
    """A tiny random-init model of `family` on DEVICE in `dtype` (skips when CUDA is asked for and absent)."""
    if DEVICE == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device")  # `make test-gpu` does not reach this: it says so and exits 0
    model = load_model(f"tiny-{family}", ModelSpec(source="tiny", hf_id=f"tiny-{family}", family=family), DEVICE)
    model.hf.to(dtype)
    return model


@pytest.fixture(scope="module", params=[(f, d) for f in TINY_FAMILIES for d in TOLERANCE],
                ids=lambda p: f"{p[0]}-{str(p[1]).removeprefix('torch.')}")
def tiny_on_device(request):
    family, dtype = request.param
    return tiny_model(family, dtype), dtype


@pytest.fixture(scope="module", params=TINY_FAMILIES)
def tiny_fp32(request):
    """float32 only: the checks that compare generated tokens exactly (bfloat16 batching moves logits by
    ~1e-2, enough to flip a near-tie greedy or sampled step; its logits are compared in other tests)."""
    return tiny_model(request.param, torch.float32)
