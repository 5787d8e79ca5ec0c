"""`probes --eval FILE` (issue 16, item 4): the published probes (fit on our train families) score every text of a
v0-format file; AUROC with CI per source_model and per scenario lands in probes_external, beside, never over, the
probes' own tables; nothing is fit on FILE."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from analyses.__main__ import main
from analyses.probes.external import groups, score_rows
from core.config import load_params
from core.data import load_dataset
from core.determinism import folder_digests
from core.stats.estimates import auroc
from tests.analyses.conftest import probed_project
from tests.conftest import ROOT

V0_FILE = ROOT / "tests" / "fixtures" / "v0_eia_games.jsonl"


@pytest.mark.slow
def test_eval_scores_a_v0_file_with_the_trained_probes(probed_template, tmp_path):
    root = tmp_path / "eval"
    with probed_project(probed_template, root) as data:
        args = ["--set", f"data.dataset={data}", "--set", "probes.n_bootstrap=50"]
        own = root / "outputs" / "probes" / "smollm2-135m"
        before = folder_digests(own)
        assert main(["probes", *args, "--eval", str(V0_FILE)]) == 0
        assert main(["collect"]) == 0
        assert folder_digests(own) == before  # the probes' own tables are untouched
        (folder,) = root.glob("outputs/probes/smollm2-135m@eval-v0_eia_games-*")
        with duckdb.connect(str(root / "outputs" / "results.duckdb"), read_only=True) as con:
            table = con.sql("SELECT * FROM probes_external").df()
        directions = pd.read_parquet(own / "probes_directions")
        selected = pd.read_parquet(own / "probes_selected")
    assert (folder / "probes_external").is_dir()
    assert set(table.group) == {"all", "source_model", "scenario"}
    assert set(table[table.group == "source_model"].value) == {"model-a", "model-b"}
    assert set(table[table.group == "scenario"].value) == {"food_delivery", "the_listener", "the_maze",
                                                            "the_protector", "the_duel"}
    assert table.auroc.between(0, 1).all() and (table.ci_low <= table.ci_high).all()
    assert set(zip(table.method, table.layer, strict=True)) == set(zip(selected.method, selected.layer, strict=True))
    assert (table[table.group == "all"].n_texts == 20).all()
    assert (table[table.group == "all"].n_instances == 10).all()  # a v0 pair is its own bootstrap cluster
    # FILE's activations have a cache of their own, outside extract's DVC out
    assert any((root / "outputs" / "activations_probes" / "smollm2-135m").iterdir())
    assert not directions.empty  # the directions used are these, fit on our train families (digest unchanged)


def test_groups_and_rows_without_a_model():
    ds = load_dataset(V0_FILE, ROOT / "data" / "scenarios.json")
    cfg = load_params(ROOT / "params.yaml", overrides=["probes.n_bootstrap=20"]).probes
    rng = np.random.default_rng(0)
    acts = rng.normal(size=(2, len(ds.texts), 4))
    y = np.array([t.empathic for t in ds.texts])
    acts[1, :, 0] += 3 * y  # a planted direction at layer 1
    probes = pd.DataFrame({"method": ["mean_diff"], "layer": [1], "direction": [[1.0, 0, 0, 0]], "threshold": [1.5]})
    rows = pd.DataFrame(score_rows(cfg, ds, acts, probes, seed=0))
    assert [g for g, _, _ in groups(ds)][:1] == ["all"] and len(rows) == 1 + 2 + 5
    assert rows.iloc[0].auroc == pytest.approx(auroc(acts[1, :, 0], y))
    assert rows.iloc[0].auroc > 0.9 and (rows.n_instances[rows.group == "scenario"] == 2).all()
