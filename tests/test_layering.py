"""Layering (DESIGN §2, P2, P3): pyproject.toml's import-linter contracts, run inside the suite so `make test`
checks them; `lint-imports` runs the same contracts from a shell."""

from __future__ import annotations

import tomllib
from pathlib import Path

import importlinter.api  # noqa: F401 - configures import-linter before its use cases run
from importlinter.application import use_cases

from analyses import PHASES

ROOT = Path(__file__).resolve().parents[1]


def _contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_import_contracts_hold(capsys):
    kept = use_cases.lint_imports(config_filename=str(ROOT / "pyproject.toml"), cache_dir=None, no_logo=True)
    assert kept, capsys.readouterr().out


def test_the_independence_contract_lists_every_phase():
    (independent,) = [c for c in _contracts() if c["type"] == "independence"]
    assert set(independent["modules"]) == {f"analyses.{name}" for name in PHASES}


def test_app_may_not_import_the_model_stack_or_analyses():
    forbidden = {m for c in _contracts() if c["type"] == "forbidden" and c["source_modules"] == ["app"]
                 for m in c["forbidden_modules"]}
    assert forbidden >= {"torch", "nnsight", "transformers", "vllm", "analyses"}
