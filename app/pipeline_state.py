"""The phases the Pipeline screen lists, and what is on disk for each (no Textual, no analyses).

Phase names come from dvc.yaml's stages (P4: one name per phase everywhere), not from importing
`analyses` (P3 forbids that: it would drag in torch). Status is read from the results store: a phase
is `done` under a profile when outputs/<phase>/<model>/<table>/ holds a published Parquet part in a
folder of that profile: a `beside` profile (v0) writes <model>@<profile>, the others <model>.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from core.paths import REVIEW, published_parts

# Phases that load a model (forward passes, generation, interventions). They mirror
# `analyses.PHASES[name].needs_model`, which the app may not import; tests/app checks the two agree.
MODEL_PHASES = frozenset({"dataset", "validate", "extract", "behaviour", "ablation", "patching", "mediation",
                          "steering"})


@dataclass(frozen=True)
class PhaseStatus:
    """One row of the Pipeline screen."""

    name: str
    state: str  # "done" | "not run"
    models: tuple[str, ...]  # models (or "_all") with published tables
    badge: str  # "GPU" | "CPU ok"


def stage_names(dvc_yaml: Path) -> list[str]:
    """Stage names of dvc.yaml in file order (a `foreach` stage counts once)."""
    if not dvc_yaml.exists():
        return []
    doc = yaml.safe_load(dvc_yaml.read_text()) or {}
    return list((doc.get("stages") or {}).keys())


def _profiles(params_yaml: Path) -> dict[str, dict]:
    doc = (yaml.safe_load(params_yaml.read_text()) or {}) if params_yaml.exists() else {}
    return {name: body or {} for name, body in (doc.get("profiles") or {"smoke": {}}).items()}


def profile_names(params_yaml: Path) -> list[str]:
    """Profiles declared in params.yaml (smoke first when present)."""
    return sorted(_profiles(params_yaml), key=lambda n: n != "smoke")


def gpu_profiles(params_yaml: Path) -> frozenset[str]:
    """Profiles whose models need a GPU (params.yaml `profiles.<name>.gpu`)."""
    return frozenset(name for name, body in _profiles(params_yaml).items() if body.get("gpu"))


def gpu_badge(phase: str, gpu: bool) -> str:
    """'GPU' when the phase loads a model under a GPU profile (`gpu`), else 'CPU ok'."""
    return "GPU" if phase in MODEL_PHASES and gpu else "CPU ok"


def beside_profiles(params_yaml: Path) -> frozenset[str]:
    """Profiles whose runs sit beside the main ones as <model>@<profile> (params.yaml `beside`)."""
    return frozenset(name for name, body in _profiles(params_yaml).items() if body.get("beside"))


def of_profile(folder: str, profile: str, beside: bool) -> bool:
    """Whether a model folder holds runs of `profile`: <model>@<profile> for a beside profile, else a
    folder without '@' (a v0 run must not count as the smoke profile's)."""
    _, at, suffix = folder.partition("@")
    return (bool(at) and suffix == profile) if beside else not at


def finished_models(outputs: Path) -> dict[str, tuple[str, ...]]:
    """Per phase, the models with at least one published table (the parts collect reads); human review
    tables, kept beside validate's run, are no run of it."""
    found: dict[str, set[str]] = {}
    for phase, model, _, _ in published_parts(outputs):
        if model != REVIEW:
            found.setdefault(phase, set()).add(model)
    return {phase: tuple(sorted(models)) for phase, models in found.items()}


def phase_statuses(root: Path, outputs: Path, profile: str = "smoke") -> list[PhaseStatus]:
    """Every dvc.yaml stage with its state, finished models (of this profile) and GPU badge."""
    statuses, finished = [], finished_models(outputs)
    gpu = profile in gpu_profiles(root / "params.yaml")
    beside = profile in beside_profiles(root / "params.yaml")
    for name in stage_names(root / "dvc.yaml"):
        models = tuple(m for m in finished.get(name, ()) if of_profile(m, profile, beside))
        state = "done" if models else "not run"
        statuses.append(PhaseStatus(name, state, models, gpu_badge(name, gpu)))
    return statuses
