"""Issue 16, item 6: a v0-format file of the five EIA games (all in train and validation families) through the
phases. Each phase checks the splits it declares before any compute: under the family split it exits 2 with the
way out (`--eval`, or a pair-level split) and writes nothing; under v0's pair-level split probes runs."""

from __future__ import annotations

import importlib

import pytest

from analyses.__main__ import main
from analyses.harness import check_splits
from core.config import load_params
from core.data import load_dataset
from core.data.splits import SplitNeed, split_problems
from core.errors import InputError
from tests.conftest import ROOT

V0_FILE = ROOT / "tests" / "fixtures" / "v0_eia_games.jsonl"
PAIR_SPLIT = ["--set", "probes.split=v0_random_pairs", "--set", "probes.select_on=test"]


@pytest.mark.parametrize("phase", ["probes", "baselines", "steering", "ablation"])
def test_a_phase_whose_split_is_empty_exits_2_before_computing(in_tmp_outputs, capsys, phase):
    code = main([phase, "--set", f"data.dataset={V0_FILE}"])
    err = capsys.readouterr().err
    assert code == 2
    assert str(V0_FILE) in err and "test split has no texts" in err and "field 'split'" in err
    assert "probes --eval FILE" in err and "probes.split=v0_random_pairs" in err  # what to do instead
    assert "validation: the_duel" in err  # where the five games went
    assert not (in_tmp_outputs / "outputs").exists()  # nothing written, not even a staging folder


def test_extract_only_warns_about_the_splits_probes_will_need(capsys):
    params = load_params(ROOT / "params.yaml", overrides=[f"data.dataset={V0_FILE}"])
    ds = load_dataset(V0_FILE, ROOT / "data" / "scenarios.json")
    check_splits("extract", importlib.import_module("analyses.extract"), params, ds)  # no raise
    assert "warning:" in capsys.readouterr().err
    with pytest.raises(InputError, match="test split has no texts"):
        check_splits("probes", importlib.import_module("analyses.probes"), params, ds)


def test_split_problems_names_the_missing_class_as_well_as_the_empty_split():
    ds = load_dataset(V0_FILE, ROOT / "data" / "scenarios.json")
    empathic_only = [t for t in ds.texts if t.empathic or t.family != "the_duel"]
    need = SplitNeed("families", (("train",), ("validation",), ("test",), ("validation", "test")), "x")
    assert split_problems(empathic_only, need) == ["the validation split has only empathic texts",
                                                   "the test split has no texts",
                                                   "the validation or test split has only empathic texts"]
    assert split_problems(ds.texts, SplitNeed("v0_random_pairs", (("train",), ("test",)), "x")) == []


@pytest.mark.slow
def test_probes_runs_on_the_v0_file_under_a_pair_level_split(in_tmp_outputs):
    args = ["--set", f"data.dataset={V0_FILE}", *PAIR_SPLIT, "--set", "probes.n_bootstrap=20",
            "--set", "probes.layers=[3,14]", "--set", "probes.crossfit_folds=2"]
    assert [main(["extract", *args]), main(["probes", *args])] == [0, 0]
    import pandas as pd

    selected = pd.read_parquet(in_tmp_outputs / "outputs" / "probes" / "smollm2-135m" / "probes_selected")
    assert set(selected.method) == {"mean_diff", "logistic"} and set(selected.selected_on) == {"test"}
    assert selected.test_auroc.between(0, 1).all()
