"""P3: the TUI never computes, so importing it must not load torch, nnsight, transformers, vllm or
analyses; and the headless core (catalog, runner, pipeline_state, reads, review_session) imports without Textual."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ["torch", "nnsight", "transformers", "vllm", "analyses"]
APP_MODULES = [
    "app", "app.__main__", "app.config", "app.catalog", "app.runner", "app.pipeline_state",
    "app.messages", "app.tui", "app.screens.pipeline", "app.screens.results", "app.widgets.auroc_plot",
    "app.reads", "app.review_session", "app.screens.findings", "app.screens.review", "app.screens.transcripts",
    "app.screens.plots", "app.screens.provenance", "app.widgets.charts",
]


def _loaded_after(imports: list[str], watch: list[str], then: str = "") -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"for m in {imports!r}: importlib.import_module(m)\n"
        f"{then}\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {watch!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_app_imports_nothing_that_computes() -> None:
    assert _loaded_after(APP_MODULES, FORBIDDEN) == []
    # Building the app (screens, catalog over the real outputs/ if any) pulls none of them in either.
    assert _loaded_after(["app"], FORBIDDEN, then="import app; app.make_app(mode='results')") == []


def test_headless_modules_import_without_textual() -> None:
    headless = ["app", "app.config", "app.catalog", "app.runner", "app.pipeline_state", "app.reads",
                "app.review_session"]
    assert _loaded_after(headless, ["textual", "textual_plotext"]) == []
