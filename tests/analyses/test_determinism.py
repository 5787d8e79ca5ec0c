"""Determinism (issue 16, item 3): the same params and seed twice give bit-identical tables, except the columns
that core.determinism declares as varying (run ids, timings), on the embedded model's real activations."""

from __future__ import annotations

import pandas as pd
import pytest

from analyses.__main__ import main
from core.determinism import folder_digests, table_digest, varying_columns
from tests.analyses.conftest import probed_project

pytestmark = pytest.mark.slow

PHASES = ("probes", "baselines")


def _run_twice(root, data) -> tuple[list[dict[str, dict[str, str]]], set[str]]:
    """Digests of every table of PHASES after each of two identical runs in the same project, and the
    run ids the probes runs got."""
    args = ["--set", f"data.dataset={data}", "--set", "probes.n_bootstrap=50", "--set", "probes.layers=[0,14,29]",
            "--set", "baselines.n_directions=100", "--set", "baselines.n_permutations=100",
            "--set", "baselines.logistic_permutations=10", "--set", "baselines.logistic_layers=[14]"]
    digests, run_ids = [], set()
    for _ in range(2):
        assert [main([phase, *args]) for phase in PHASES] == [0, 0]
        digests.append({p: folder_digests(root / "outputs" / p / "smollm2-135m") for p in PHASES})
        run_ids |= set(pd.read_parquet(root / "outputs" / "probes" / "smollm2-135m" / "runs").run_id)
    return digests, run_ids


def test_probes_and_baselines_twice_give_identical_tables(probed_template, tmp_path):
    root = tmp_path / "twice"
    with probed_project(probed_template, root) as data:
        (first, second), run_ids = _run_twice(root, data)
    for phase in PHASES:
        assert "runs" in first[phase] and len(first[phase]) > 3, phase  # baselines: 3 tables + runs
        differ = sorted(t for t in first[phase] if first[phase][t] != second[phase].get(t))
        assert not differ, f"{phase}: tables differ between two identical runs: {differ}"
    assert len(run_ids) == 2  # two runs, two ids: the run_id column did vary, and was left out


def test_the_digest_ignores_declared_columns_only(tmp_path):
    base = pd.DataFrame({"run_id": ["a", "a"], "model": ["m", "m"], "auroc": [0.9, 0.8]})
    paths = {}
    for name, frame in {"same": base, "new_id": base.assign(run_id="b"),
                        "new_value": base.assign(auroc=[0.9, 0.8000001])}.items():
        paths[name] = tmp_path / f"{name}.parquet"
        frame.to_parquet(paths[name], index=False)
    digest = {name: table_digest("probes_auroc", [p]) for name, p in paths.items()}
    assert digest["same"] == digest["new_id"] != digest["new_value"]
    assert "wall_s" in varying_columns("runs") and "wall_s" not in varying_columns("probes_auroc")
