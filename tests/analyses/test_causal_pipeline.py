"""extract -> probes -> patching, ablation, mediation -> collect on the embedded model (mini dataset, CPU)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from analyses.__main__ import main
from tests.conftest import ROOT, write_mini_dataset

pytestmark = pytest.mark.slow

SMALL = ["--set", "probes.n_bootstrap=50", "--set", "patching.layers=[28]", "--set", "patching.final_positions=1",
         "--set", "patching.max_span_positions=1", "--set", "patching.n_bootstrap=50",
         "--set", "mediation.layers=[0,29]", "--set", "mediation.n_bootstrap=50",
         "--set", "ablation.layers=[10,20]", "--set", "ablation.n_bootstrap=50"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("causal")
    (root / "data").symlink_to(ROOT / "data")
    (root / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    args = ["--set", f"data.dataset={write_mini_dataset(root / 'mini.json', per_family=1)}", *SMALL]
    old = Path.cwd()
    os.chdir(root)
    try:
        phases = ["extract", "probes", "patching", "ablation", "mediation"]
        assert [main([p, *args]) for p in phases] + [main(["collect"])] == [0] * 6
        yield root, args
    finally:
        os.chdir(old)


def _sql(root: Path, query: str):
    with duckdb.connect(str(root / "outputs" / "results.duckdb"), read_only=True) as con:
        return con.sql(query).df()


def test_every_causal_table_is_filled(workdir):
    root, _ = workdir
    for table in ("behaviour_forced_choice", "patching_effects", "patching_summary", "patching_attribution",
                  "ablation_auroc", "ablation_texts", "mediation_effects"):
        assert len(_sql(root, f"SELECT * FROM {table}")) > 0, table
    effects = _sql(root, "SELECT * FROM patching_effects")
    assert set(effects.kind) == {"full", "direction_only", "steering"}
    assert set(_sql(root, "SELECT variant FROM ablation_auroc").variant) >= {
        "original", "lexicon_removed", "random_removed", "crossed_subset"}
    verdicts = _sql(root, "SELECT * FROM causal_verdicts")
    assert len(verdicts) == 5 and verdicts.answer.str.len().gt(0).all()
    runs = _sql(root, "SELECT * FROM runs")
    assert set(_sql(root, "SELECT run_id FROM mediation_effects").run_id) <= set(runs.run_id)


def test_rerunning_ablation_extracts_nothing(workdir, monkeypatch):
    root, args = workdir
    monkeypatch.chdir(root)
    caches = sorted((root / "outputs" / "activations_ablation").rglob("part-*.npz"))
    assert caches, "the edited texts were re-extracted into their own caches"
    import core.models.loader as loader

    monkeypatch.setattr(loader, "load_model", lambda *a, **k: pytest.fail("a rerun must not load the model"))
    assert main(["ablation", *args]) == 0
    assert sorted((root / "outputs" / "activations_ablation").rglob("part-*.npz")) == caches
