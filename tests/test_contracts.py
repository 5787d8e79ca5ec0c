"""Project-wide contracts: one name per phase everywhere (P4); params.yaml is the only place a knob's value lives
(P5); dvc.yaml's code deps are what each stage imports; stages never write under data/ (P8)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from analyses import PHASES
from analyses.deps import PIPELINES, merged, pipeline_outs, stage_deps
from core import paths
from core.config import Params, Section, load_params

ROOT = Path(__file__).resolve().parents[1]


def _dvc(name: str = "dvc.yaml") -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def _params_yaml() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def _sections() -> dict[str, type[Section]]:
    """The params sections typed by a Section class (data and every phase)."""
    return {name: f.annotation for name, f in Params.model_fields.items()
            if isinstance(f.annotation, type) and issubclass(f.annotation, Section) and name != "models"}


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_phase_names_agree_everywhere(pipeline):
    stages = _dvc(pipeline)["stages"]
    analyses = ROOT / "analyses"
    modules = {p.stem for p in analyses.glob("*.py")} | {p.parent.name for p in analyses.glob("*/__init__.py")}
    # the v2 pipeline runs two phases of the previous dataset revision; the others run every phase
    assert set(stages) == set(PHASES) if pipeline != "pipelines/v2/dvc.yaml" else set(stages) <= set(PHASES)
    assert set(PHASES) <= set(_params_yaml()) & set(_sections())
    assert set(PHASES) <= modules
    for name in stages:
        assert _sections()[name].__name__ == f"{name.capitalize()}Config", name
        body = stages[name].get("do", stages[name])
        assert name in body.get("params", []) or not _sections()[name].model_fields, name  # its own section
        assert f"python -m analyses {name} " in body["cmd"], name


def test_every_section_value_lives_in_params_yaml_only():
    raw = _params_yaml()
    for name, cls in _sections().items():
        assert set(raw[name]) == set(cls.model_fields), name  # no knob missing, none unknown
        assert all(f.is_required() for f in cls.model_fields.values()), f"{name}: a default duplicates params.yaml"
    for profile in raw["profiles"].values():
        assert isinstance(profile["gpu"], bool) and isinstance(profile["beside"], bool)


def test_no_test_seam_is_a_knob():
    assert "vllm_engine" not in _params_yaml()["dataset"]
    assert "--backend" not in _dvc()["stages"]["dataset"]["do"]["cmd"]  # dataset.backend is the knob


def test_human_review_is_validate_s_and_survives_a_validate_rerun():
    review = paths.review_dir()
    assert review.parent == paths.phase_root("validate") and review != paths.phase_dir("validate", "_all")
    assert paths.review_sheet("x.csv").is_relative_to(review)
    assert not any(str(p).startswith("outputs/review") for p in (review, paths.review_sheet("x.csv")))


def test_dvc_code_deps_are_what_each_stage_imports():
    computed = stage_deps(PHASES)
    for name, stage in [(n, s) for p in PIPELINES for n, s in _dvc(p)["stages"].items()]:
        deps = stage.get("do", stage)["deps"]
        assert deps == merged(deps, computed[name]), f"{name}: run `python -m analyses deps --write`"
    extract, steering = set(computed["extract"]), set(computed["steering"])
    assert not any(d.startswith("analyses/steering") for d in extract)  # a steering edit leaves extract cached
    assert "analyses/steering" in steering and "core/models/steer.py" in steering
    assert "core/models/vllm_worker.py" in set(computed["dataset"])  # started as a process, not imported


def test_cross_model_stages_depend_on_every_smoke_model():
    # probes_transfer reads every model's activations, steering_transfer every model's probes too: a stage
    # that lists only its own model's would run before the other's extraction and silently lose the rows
    stages, models = _dvc()["stages"], load_params(ROOT / "params.yaml", "smoke").run_models
    assert len(models) >= 2
    for stage, needs in (("probes", ["activations"]), ("steering", ["activations", "probes"])):
        deps = set(stages[stage]["do"]["deps"])
        assert {f"outputs/{kind}/{m}" for kind in needs for m in models} <= deps, stage


def test_no_stage_writes_under_data():
    for stage in [s for p in PIPELINES for s in _dvc(p)["stages"].values()]:
        body = stage.get("do", stage)
        for out in body.get("outs", []):
            name = next(iter(out)) if isinstance(out, dict) else out
            assert name.startswith("outputs/"), name


def test_readme_shows_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_paper_pipeline_runs_every_phase_for_the_paper_models_from_the_root():
    paper, smoke = _dvc("pipelines/paper/paper.yaml"), _dvc()
    models = _params_yaml()["profiles"]["paper"]["models"]
    for name, stage in paper["stages"].items():
        body = stage.get("do", stage)
        assert body["wdir"] == "../.." and "--profile paper" in body["cmd"], name
        assert stage.get("foreach", "${profiles.paper.models}") == "${profiles.paper.models}", name
    smoke_outs = set(pipeline_outs(smoke, _params_yaml()["profiles"]["smoke"]["models"])) | {
        "outputs/results.duckdb", "outputs/collect/_all"}
    paper_outs = set(pipeline_outs(paper, models))
    assert not any(a == b or a.startswith(f"{b}/") or b.startswith(f"{a}/") for a in paper_outs for b in smoke_outs)
    collect = [d for d in paper["stages"]["collect"]["deps"] if d.startswith("outputs/")]
    assert collect == pipeline_outs(paper, models) and all(d.rsplit("/", 1)[-1] in models for d in collect)


@pytest.mark.slow
def test_dvc_builds_the_paper_dag_without_the_smoke_stages():
    import os
    import shutil
    import subprocess
    import sys

    dvc = Path(sys.executable).parent / "dvc"
    active = ROOT / "pipelines" / "paper" / "dvc.yaml"  # as `make repro PROFILE=paper` activates it
    shutil.copyfile(ROOT / "pipelines" / "paper" / "paper.yaml", active)
    try:
        res = subprocess.run([str(dvc), "dag", "--dot", "pipelines/paper/dvc.yaml"], cwd=ROOT, capture_output=True,
                             text=True, timeout=300, env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    finally:
        active.unlink()
    assert res.returncode == 0, res.stderr
    lines = [line.strip() for line in res.stdout.splitlines()]
    nodes = {line.strip('";') for line in lines if line.startswith('"') and "->" not in line}
    models = _params_yaml()["profiles"]["paper"]["models"]
    per_model = [n for n, p in PHASES.items() if p.per_model]
    expected = {f"pipelines/paper/dvc.yaml:{p}@{m}" for p in per_model for m in models}
    expected |= {f"pipelines/paper/dvc.yaml:{p}" for p, ph in PHASES.items() if not ph.per_model} | {"data.dvc"}
    assert nodes == expected
    assert '"pipelines/paper/dvc.yaml:extract@llama3-70b" -> "pipelines/paper/dvc.yaml:probes@llama3-70b"' in res.stdout
