"""Shared fixtures: the embedded model (loaded once), tiny random-init models, small datasets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ["llama", "phi3", "gemma2", "gemma3", "qwen2", "mistral", "mixtral"]


@pytest.fixture(scope="session")
def embedded():
    """The embedded SmolLM2-135M (float32, CPU)."""
    from core.config import load_params
    from core.models.loader import load_model

    params = load_params(ROOT / "params.yaml")
    return load_model("smollm2-135m", params.model("smollm2-135m"))


@pytest.fixture(scope="session")
def embedded_gemma3():
    """The second embedded model, Gemma-3-270M base (float32, CPU; minutes the first time, then cached)."""
    from core.config import load_params
    from core.models.loader import load_model

    params = load_params(ROOT / "params.yaml")
    return load_model("gemma3-270m", params.model("gemma3-270m"))


@pytest.fixture(scope="session", params=FAMILIES)
def tiny(request):
    """A tiny random-init model of each supported family."""
    from core.config import ModelSpec
    from core.models.loader import load_model

    spec = ModelSpec(source="tiny", hf_id=f"tiny-{request.param}", family=request.param)
    return load_model(f"tiny-{request.param}", spec)


def write_mini_dataset(target: Path, per_family: int = 2) -> Path:
    """A small dataset file in our format: the first instances of each family of data/."""
    src = json.loads((ROOT / "data" / "dataset_expanded.json").read_text())
    keep, counts = set(), {}
    for inst in src["instances"]:
        fam = inst["family"]
        if counts.get(fam, 0) < per_family:
            counts[fam] = counts.get(fam, 0) + 1
            keep.add(inst["instance_id"])
    out = {"format": src["format"],
           "instances": [i for i in src["instances"] if i["instance_id"] in keep],
           "texts": [t for t in src["texts"] if t["instance_id"] in keep],
           "steering_prompts": src["steering_prompts"][:4]}
    target.write_text(json.dumps(out, indent=1))
    return target


@pytest.fixture
def mini_dataset(tmp_path: Path) -> Path:
    return write_mini_dataset(tmp_path / "mini.json")


@pytest.fixture
def in_tmp_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run with cwd = a temp folder holding params.yaml and data/, so outputs/ lands there."""
    (tmp_path / "data").symlink_to(ROOT / "data")
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    return tmp_path
