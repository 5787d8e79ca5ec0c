"""RunContext: what a phase gets besides its config — the model alias, the data, seeds, a lazy model
handle and the activation cache — so that `run(cfg, ctx)` never opens params.yaml or builds a path.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from core import paths
from core.config import ModelSpec, Params
from core.data import Dataset, load_dataset


def seed_everything(seed: int) -> None:
    """Seed python, numpy and (if loaded) torch."""
    random.seed(seed)
    np.random.seed(seed)
    import torch

    torch.manual_seed(seed)


def pick_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class RunContext:
    params: Params
    alias: str
    run_id: str
    staging: Path
    device: str = field(default_factory=pick_device)
    extra: dict[str, Any] = field(default_factory=dict)
    phase: str = ""

    @property
    def spec(self) -> ModelSpec:
        return self.params.model(self.alias)

    @property
    def seed(self) -> int:
        return self.params.seed

    @cached_property
    def dataset(self) -> Dataset:
        return load_dataset(self.params.data.dataset, self.params.data.scenarios)

    @cached_property
    def model(self) -> Any:
        from core.models.loader import load_model

        return load_model(self.alias, self.spec, self.device)

    def activations_dir(self) -> Path:
        return paths.activations_dir(self.alias)

    def phase_dir(self, phase: str) -> Path:
        """Where `phase` publishes this model's tables under this run's profile."""
        return paths.phase_dir(phase, self.alias, self.params.comparison)

    def save_figure(self, fig: Any, name: str) -> list[Path]:
        """Write a matplotlib figure as PNG and PDF under outputs/figures/<phase>/<model>/ (the same
        folder name as the phase's tables, so a v0 run does not overwrite the smoke figures)."""
        folder = paths.figures_dir() / self.phase / self.phase_dir(self.phase).name
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for suffix in ("png", "pdf"):
            target = folder / f"{name}.{suffix}"
            tmp = folder / f".{name}.tmp.{suffix}"
            fig.savefig(tmp, dpi=130, bbox_inches="tight")
            tmp.replace(target)
            written.append(target)
        return written
