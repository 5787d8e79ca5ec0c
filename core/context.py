"""RunContext: what a phase gets besides its config — the model alias, the data, seeds, a lazy model
handle and the activation cache — so that `run(cfg, ctx)` never opens params.yaml or builds a path.

The context is also where a run's inputs are resolved, so it records them (`inputs`, typed, for the
`runs` row): the dataset's hash when the dataset is loaded, the model revision actually resolved when
the run's model is loaded, when extract's activation cache is read, or when a phase over all models
loads its one model. A phase never writes provenance by hand.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from core import paths
from core.config import ModelSpec, Params
from core.data import Dataset, load_dataset
from core.provenance import Inputs

if TYPE_CHECKING:
    from core.cache import ActivationCache


class Resolved(Protocol):
    """Anything a run reads a model through: a loaded model, a generation backend."""

    @property
    def revision(self) -> str: ...


R = TypeVar("R", bound=Resolved)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and (if loaded) torch."""
    random.seed(seed)
    np.random.seed(seed)
    import torch

    torch.manual_seed(seed)


def pick_device() -> str:
    """cuda when a GPU is visible, else cpu."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class RunContext:
    """One phase run for one model alias ('_all' for a phase over every model)."""

    params: Params
    alias: str
    run_id: str
    staging: Path
    device: str = field(default_factory=pick_device)
    phase: str = ""
    inputs: Inputs = field(default_factory=Inputs)

    @property
    def spec(self) -> ModelSpec:
        """The run's model spec (an error for '_all')."""
        return self.params.model(self.alias)

    @property
    def seed(self) -> int:
        """The run's seed (params.yaml's)."""
        return self.params.seed

    @cached_property
    def dataset(self) -> Dataset:
        """The dataset of params.data, validated; its hash becomes the run's dataset_hash."""
        data = self.params.data
        ds = load_dataset(data.dataset, data.scenarios, data.instances_per_family, self.params.seed)
        self.inputs.record("dataset_hash", ds.sha256)
        return ds

    @cached_property
    def model(self) -> Any:
        """The run's model, loaded once; its resolved revision becomes the run's model_revision."""
        return self.load_model(self.alias)

    def load_model(self, alias: str) -> Any:
        """Load a configured model (the run's own, or another such as a judge). A run over all models
        ('_all', e.g. validate's judge) records the revision of the model it loads as its own."""
        from core.models.loader import load_model

        loaded = load_model(alias, self.params.model(alias), self.device)
        return self.opened(loaded) if alias == self.alias or self.alias == "_all" else loaded

    def release_model(self) -> None:
        """Free the run's model (a judge that does not fit beside it loads next); a later `model` reloads it."""
        loaded = self.__dict__.pop("model", None)
        if loaded is not None:
            from core.models.loader import unload

            unload(loaded)

    def opened(self, source: R) -> R:
        """Record the revision of what the run reads its model through (for a generation backend the phase
        builds itself); returns it unchanged."""
        self.inputs.record("model_revision", source.revision)
        return source

    def activation_cache(self) -> ActivationCache:
        """Extract's activation cache of this model and dataset (created if new); a complete cache's
        resolved revision becomes the run's model_revision."""
        from core.activations import open_cache

        cache = open_cache(self.params, self.alias, self.dataset, self.activations_dir())
        if cache.complete:
            self.inputs.record("model_revision", str(cache.manifest()["resolved_revision"]))
        return cache

    def activations(self, text_ids: list[str]) -> np.ndarray:
        """Extract's finished activations [layers, texts, d] for these texts (nothing is created: an
        error when extract has not completed); the cache's resolved revision becomes model_revision."""
        from core.activations import cached_activations

        acts, revision = cached_activations(self.params, self.alias, self.dataset, text_ids)
        self.inputs.record("model_revision", revision)
        return acts

    def token_embeddings(self, text_ids: list[str]) -> np.ndarray:
        """Extract's pooled token embeddings [texts, d] (HF hidden_states[0], pooled like the layers)."""
        from core.activations import cached_embeddings

        return cached_embeddings(self.params, self.alias, self.dataset, text_ids)

    def embedding_cache(self) -> ActivationCache:
        """Extract's cache entry of pooled token embeddings (created if new)."""
        from core.activations import embedding_fields
        from core.cache import ActivationCache

        return ActivationCache.open(self.activations_dir(), embedding_fields(self.params, self.alias, self.dataset))

    def activations_dir(self) -> Path:
        """outputs/activations/<alias> (<alias>@<profile> for a comparison profile)."""
        return paths.activations_dir(self.alias, self.params.comparison)

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
