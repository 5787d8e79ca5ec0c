"""Project-wide contracts: one name per phase everywhere (P4); stages never write under data/ (P8)."""

from __future__ import annotations

from pathlib import Path

import yaml

from analyses import PHASES
from core.config import Params

ROOT = Path(__file__).resolve().parents[1]


def _dvc() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())


def test_phase_names_agree_everywhere():
    stages = set(_dvc()["stages"])
    sections = set(yaml.safe_load((ROOT / "params.yaml").read_text())) & set(Params.model_fields)
    analyses = ROOT / "analyses"
    modules = {p.stem for p in analyses.glob("*.py")} | {p.parent.name for p in analyses.glob("*/__init__.py")}
    assert stages == set(PHASES)
    assert set(PHASES) <= sections
    assert set(PHASES) <= modules


def test_no_stage_writes_under_data():
    for stage in _dvc()["stages"].values():
        body = stage.get("do", stage)
        for out in body.get("outs", []):
            name = next(iter(out)) if isinstance(out, dict) else out
            assert name.startswith("outputs/"), name


def test_readme_shows_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
