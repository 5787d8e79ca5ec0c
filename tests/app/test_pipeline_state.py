"""Phase list from dvc.yaml, status from outputs/, GPU badge by profile."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.pipeline_state import (
    MODEL_PHASES,
    beside_profiles,
    finished_models,
    gpu_badge,
    gpu_profiles,
    of_profile,
    phase_statuses,
    profile_names,
    stage_names,
)


def test_stages_in_file_order(repo: Path) -> None:
    assert stage_names(repo / "dvc.yaml") == ["extract", "probes", "collect"]
    assert stage_names(repo / "missing.yaml") == []


def test_status_from_published_tables_only(repo: Path) -> None:
    by_name = {s.name: s for s in phase_statuses(repo, repo / "outputs")}
    assert by_name["probes"].state == "done" and by_name["probes"].models == ("m1",)
    # collect has only a hidden folder: not finished.
    assert by_name["collect"].state == "not run" and by_name["collect"].models == ()


def test_gpu_badge_only_for_model_phases_under_a_gpu_profile(repo: Path) -> None:
    assert gpu_profiles(repo / "params.yaml") == {"paper"}
    assert gpu_badge("extract", True) == "GPU"
    assert gpu_badge("extract", False) == "CPU ok"
    assert gpu_badge("probes", True) == "CPU ok"
    badges = {s.name: s.badge for s in phase_statuses(repo, repo / "outputs", "paper")}
    assert badges == {"extract": "GPU", "probes": "CPU ok", "collect": "CPU ok"}


def test_the_real_gpu_profiles_are_the_paper_one() -> None:
    assert gpu_profiles(Path(__file__).resolve().parents[2] / "params.yaml") == {"paper"}


def test_human_review_is_no_run_of_validate(repo: Path) -> None:
    outputs = repo / "outputs"
    part = next(outputs.rglob("part-*.parquet"))
    for model in ("_review", "_all"):
        (outputs / "validate" / model / "validate_review").mkdir(parents=True)
        shutil.copy(part, outputs / "validate" / model / "validate_review" / part.name)
        if model == "_review":
            assert "validate" not in finished_models(outputs)
    assert finished_models(outputs)["validate"] == ("_all",)


def test_profiles_smoke_first(repo: Path) -> None:
    assert profile_names(repo / "params.yaml") == ["smoke", "paper", "v0"]


def test_model_phases_agree_with_the_registry() -> None:
    # The app may not import analyses (P3); the test may, to keep the two lists equal (P4).
    from analyses import PHASES

    for name, phase in PHASES.items():
        assert (name in MODEL_PHASES) == phase.needs_model, name


def test_real_dvc_yaml_stages_are_phases() -> None:
    from analyses import PHASES

    root = Path(__file__).resolve().parents[2]
    assert set(stage_names(root / "dvc.yaml")) == set(PHASES)


def test_status_is_per_profile(repo: Path) -> None:
    outputs = repo / "outputs"
    shutil.copytree(outputs / "probes" / "m1", outputs / "probes" / "m1@v0")
    shutil.move(outputs / "extract" / "m1", outputs / "extract" / "m1@v0")
    smoke = {s.name: s for s in phase_statuses(repo, outputs, "smoke")}
    v0 = {s.name: s for s in phase_statuses(repo, outputs, "v0")}
    # A v0 run (m1@v0) is no run of the smoke profile, and a smoke run (m1) none of v0.
    assert smoke["extract"].state == "not run" and smoke["probes"].models == ("m1",)
    assert v0["extract"].models == ("m1@v0",) and v0["probes"].models == ("m1@v0",)
    assert beside_profiles(repo / "params.yaml") == {"v0"}
    assert of_profile("m1@v0", "v0", True) and not of_profile("m1", "v0", True)
    assert not of_profile("m1@v0", "smoke", False) and of_profile("m1", "smoke", False)
